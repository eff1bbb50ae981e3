// claudemesh inbox [--follow] [--all]: fetch and decrypt waiting messages, show them, remember
// them locally, then ack them (so a crash before the ack means a redelivery, never a loss).
// --follow keeps streaming (with --json: one JSON object per line). --all shows local history.
import type { MessagePushFrame } from "../../protocol/server-frames.ts";
import type { BrokerClient } from "../../client/client.ts";
import { answerKeyRequest, type MeshSession, type Delivered } from "../../client/mesh-session.ts";
import { readMessages } from "../../client/local/message-log.ts";
import { command, type CommonArgs, type Ctx } from "../context.ts";
import { formatMessage, openBatch, recordRead, sessionFor } from "../mesh-io.ts";

/** Opens, records and acks one batch; answers key requests if this member is the owner. */
async function handleBatch(ctx: Ctx, session: MeshSession, client: BrokerClient, pushes: MessagePushFrame[]) {
  const batch = openBatch(session, pushes);
  recordRead(ctx, session, batch.read);
  for (const d of batch.dropped) ctx.debug(`dropped ${d.messageId}: ${d.reason}`);
  for (const from of batch.keyRequests) {
    if (await answerKeyRequest(session, client, from).catch(() => false)) ctx.out.note(`sent the mesh keys to ${from.name}`);
  }
  if (batch.ack.length) await client.ackSync(batch.ack);
  return batch;
}

export async function run(args: CommonArgs & { follow?: boolean; all?: boolean; limit?: string }): Promise<void> {
  await command(args, async (ctx) => {
    const mesh = ctx.mesh();
    if (args.all) {
      const history = readMessages(ctx.env.configDir, mesh.meshId, Number(args.limit ?? 50) || 50);
      ctx.out.result({ messages: history }, () => (history.length ? history.map(formatMessage).join("\n") : "No messages read yet."));
      return;
    }
    const session = sessionFor(ctx, mesh);
    if (args.follow) return follow(ctx, session);
    const client = await ctx.connect(mesh);
    const read: Delivered[] = [];
    let dropped = 0;
    let waiting = 0;
    for (;;) {
      const page = await client.request("fetch", { limit: 200 });
      if (page.messages.length === 0) break;
      const b = await handleBatch(ctx, session, client, page.messages);
      read.push(...b.read);
      dropped += b.dropped.length;
      waiting += b.waiting;
      if (page.remaining === 0 || b.ack.length === 0) break;
    }
    ctx.out.result({ messages: read, dropped, waitingForKeys: waiting }, () =>
      [
        read.length ? read.map(formatMessage).join("\n") : "No new messages.",
        dropped ? `(${dropped} message(s) failed verification and were dropped; CLAUDEMESH_DEBUG=1 shows why)` : "",
        waiting ? `(${waiting} message(s) use a mesh key you do not have yet; they wait for the owner's keys)` : "",
      ]
        .filter(Boolean)
        .join("\n"),
    );
  });
}

async function follow(ctx: Ctx, session: MeshSession): Promise<void> {
  const mesh = ctx.mesh();
  let pending: MessagePushFrame[] = [];
  let client: BrokerClient;
  const flush = async () => {
    const pushes = pending;
    pending = [];
    const b = await handleBatch(ctx, session, client, pushes);
    for (const m of b.read) process.stdout.write((ctx.out.json ? JSON.stringify(m) : formatMessage(m)) + "\n");
  };
  client = await ctx.connect(mesh, {
    receive: "push",
    reconnect: true,
    onMessage: (m) => {
      if (pending.length === 0) queueMicrotask(() => void flush().catch((err) => ctx.out.note(`inbox: ${(err as Error).message}`)));
      pending.push(m);
    },
  });
  ctx.out.note(`Following ${mesh.slug}; Ctrl-C to stop.`);
  await new Promise<void>((resolve) => process.once("SIGINT", () => resolve()));
}
