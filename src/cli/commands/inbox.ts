// claudemesh inbox [--follow] [--all]: fetch and decrypt waiting messages, remember them locally,
// show them, then ack them (a crash before the ack means a redelivery, which the replay memory
// drops: never a loss, never shown twice).
// --follow keeps streaming (with --json: one JSON object per line); while you are dnd or working it
// says that only priority-now messages arrive. --all shows local history.
import type { MessagePushFrame } from "../../protocol/server-frames.ts";
import type { PeerInfo } from "../../protocol/results.ts";
import type { BrokerClient } from "../../client/client.ts";
import { answerKeyRequest, type MeshSession, type Delivered } from "../../client/mesh-session.ts";
import { readMessages } from "../../client/local/message-log.ts";
import { command, savedBroker, type CommonArgs, type Ctx } from "../context.ts";
import { terminalSafe, UsageError, writeStdout } from "../output.ts";
import { formatMessage, openBatch, recordRead, senderLabel, sessionFor } from "../mesh-io.ts";
import { closedForGood } from "../../client/removed.ts";

/** Opens and records one batch, hands what was read to `show`, then acks it; answers key requests
 *  if this member is the owner. Shown before the ack: the batch is in the replay memory once
 *  recorded, so a redelivery after a lost ack is dropped, and one shown only after the ack was
 *  never shown at all when the ack failed (a broker restart mid-batch). A failed ack is harmless
 *  for the same reason. */
async function handleBatch(ctx: Ctx, session: MeshSession, client: BrokerClient, pushes: MessagePushFrame[], show: (read: Delivered[]) => void) {
  const batch = openBatch(session, pushes);
  recordRead(ctx, session, batch.read);
  show(batch.read);
  for (const d of batch.dropped) ctx.debug(`dropped ${d.messageId}: ${d.reason}`);
  for (const from of batch.keyRequests) {
    if (await answerKeyRequest(session, client, from, ctx.mesh().removed).catch(() => false)) ctx.out.note(`sent the mesh keys to ${senderLabel(from)}`);
  }
  if (batch.ack.length) await client.ackSync(batch.ack).catch((err: Error) => ctx.debug(`ack failed (the redelivery will be dropped as seen): ${err.message}`));
  return batch;
}

export async function run(args: CommonArgs & { follow?: boolean; all?: boolean; limit?: string }): Promise<void> {
  await command(args, async (ctx) => {
    if (args.limit !== undefined && !args.all) throw new UsageError("--limit goes with --all (the most messages of your history to show); new messages are all shown at once.");
    const mesh = ctx.mesh();
    if (args.all) {
      const limit = Number(args.limit ?? 50);
      if (!Number.isSafeInteger(limit) || limit < 1) throw new UsageError("--limit must be a whole number, 1 or more.");
      const history = readMessages(ctx.env.configDir, mesh.meshId, limit);
      ctx.out.result({ messages: history }, () => (history.length ? history.map((m) => formatMessage(m)).join("\n") : "No messages read yet."));
      return;
    }
    const session = sessionFor(ctx, mesh);
    if (args.follow) return follow(ctx, session);
    const client = await ctx.connect(mesh);
    const read: Delivered[] = [];
    let dropped = 0;
    let waiting = 0;
    let interrupted: string | null = null;
    for (;;) {
      // Pages already read are recorded and will never be shown again: losing the connection
      // after one still shows them (and says so), rather than failing with nothing shown.
      const page = await client.request("fetch", { limit: 200 }).catch((err: Error) => {
        if (read.length === 0) throw err;
        interrupted = err.message;
        return null;
      });
      if (!page || page.messages.length === 0) break;
      const b = await handleBatch(ctx, session, client, page.messages, (r) => read.push(...r));
      dropped += b.dropped.length;
      waiting += b.waiting;
      if (page.remaining === 0 || b.ack.length === 0) break;
    }
    ctx.out.result({ messages: read, dropped, waitingForKeys: waiting, ...(interrupted ? { interrupted } : {}) }, () =>
      [
        read.length ? read.map((m) => formatMessage(m)).join("\n") : "No new messages.",
        dropped ? `(${dropped} message(s) failed verification and were dropped; CLAUDEMESH_DEBUG=1 shows why)` : "",
        waiting ? `(${waiting} message(s) use a mesh key you do not have yet; they wait for the owner's keys)` : "",
        interrupted ? `(the connection was lost: ${interrupted} Run \`claudemesh inbox\` again for the rest.)` : "",
      ]
        .filter(Boolean)
        .join("\n"),
    );
  });
}

/** The broker pushes only priority-now messages while you are working or dnd (protocol §5.7), so
 *  a follower that shows nothing says why. ("" when idle, or when the status cannot be read.) */
async function gateNote(client: BrokerClient, me: string): Promise<string> {
  const { peers } = await client.request("list_peers", {}).catch(() => ({ peers: [] as PeerInfo[] }));
  const status = peers.find((p) => p.pubkey === me)?.status;
  if (status !== "working" && status !== "dnd") return "";
  return `\nYou are ${status}: only priority-now messages show here as they arrive; the others wait until \`claudemesh status idle\` (or read them now with \`claudemesh inbox\`).`;
}

async function follow(ctx: Ctx, session: MeshSession): Promise<void> {
  const mesh = ctx.mesh();
  const base = savedBroker(ctx.env.configDir, mesh);
  /** The connection dropped and has not come back yet (said once on stderr, human mode). */
  let lost = false;
  let pending: MessagePushFrame[] = [];
  let client: BrokerClient;
  const flush = async () => {
    const pushes = pending;
    pending = [];
    await handleBatch(ctx, session, client, pushes, (read) => {
      for (const m of read) writeStdout((ctx.out.json ? JSON.stringify(m) : terminalSafe(formatMessage(m))) + "\n");
    });
  };
  // Ctrl-C ends it; so does a close the client does not recover from (kicked, banned), which
  // is reported like any command's error instead of leaving a follower that shows nothing.
  let endWith: (err: Error) => void = () => {};
  const ended = new Promise<void>((resolve, reject) => {
    process.once("SIGINT", () => resolve());
    endWith = reject;
  });
  // A refusal of the first connect closes the client too, and connect() reports that one.
  ended.catch(() => {});
  client = await ctx.connect(mesh, {
    receive: "push",
    reconnect: true,
    onMessage: (m) => {
      if (pending.length === 0) queueMicrotask(() => void flush().catch((err) => ctx.out.note(`inbox: ${(err as Error).message}`)));
      pending.push(m);
    },
    onState: (state, { code, reason }) => {
      if (state === "closed") endWith(closedForGood(mesh.slug, code, reason));
      // One line when the connection drops and one when it is back, not one per failed retry.
      else if (state === "reconnecting" && !lost) ctx.out.note(`Lost the connection to the broker at ${base}; reconnecting until it answers (Ctrl-C to stop).`);
      else if (state === "open" && lost) ctx.out.note(`Connected to the broker at ${base} again.`);
      lost = state === "reconnecting";
    },
  });
  ctx.out.note(`Following ${mesh.slug}; Ctrl-C to stop.${await gateNote(client, mesh.publicKey)}`);
  await ended;
}
