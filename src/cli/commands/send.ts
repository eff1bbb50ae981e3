// claudemesh send <to> <message>: resolve the target, encrypt end to end, send; the result arrives
// only after the broker committed the message. A message of "-" is read from stdin. The target may
// name its mesh ("team:bob"), as the MCP tools' targets do.
import { MeshError } from "../../protocol/errors.ts";
import { ID_RE } from "../../crypto/fields.ts";
import type { Priority } from "../../protocol/fields.ts";
import { PRIORITIES } from "../../protocol/choices.ts";
import { oneOf } from "../choice-arg.ts";
import { command, type CommonArgs, type Ctx } from "../context.ts";
import type { MeshEntry } from "../../client/local/config-file.ts";
import type { MeshSession } from "../../client/mesh-session.ts";
import type { Results } from "../../protocol/results.ts";
import { restText, UsageError } from "../output.ts";
import { resolve, sessionFor } from "../mesh-io.ts";
import { groupRefusal, topicRefusal } from "../target-hints.ts";
import type { PeerWhere } from "../../client/name-hints.ts";
import { peerLabel } from "../../client/resolve.ts";
import { meshOfTarget, unknownMesh, unknownMeshPrefix } from "../mesh-choice.ts";
import { meshLabel } from "../mesh-named.ts";
import { MAX_SEND_BODY_BYTES } from "../../client/mesh-session.ts";
import { readStdin } from "../stdin.ts";
import { SendError } from "../../client/send-error.ts";
import type { BrokerClient } from "../../client/client.ts";
import { GoingAwayError, MalformedAnswerError } from "../../client/broker-trouble.ts";

export function priorityArg(p: string | undefined): Priority | undefined {
  if (p === undefined) return undefined;
  return oneOf(p, PRIORITIES, "--priority");
}

/** The message piped in for "-" (`git diff | claudemesh send bob -`), without the trailing line
 *  break(s) a pipe or file ends with; refused when empty or longer than one message can be.
 *  `example` is the command an empty stdin is told to pipe into. */
export async function messageFromStdin(example: string): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write("Type the message, then Ctrl-D on a line of its own:\n");
  const { text, tooLong } = await readStdin({ maxBytes: MAX_SEND_BODY_BYTES });
  if (tooLong) throw new UsageError(`The message on stdin is longer than ${MAX_SEND_BODY_BYTES} bytes, the most one message can carry.`);
  const body = text.replace(/\s+$/, "");
  if (!body) throw new UsageError(`Nothing to send on stdin. Pipe the message in, like: ${example}`);
  return body;
}

type SendArgs = CommonArgs & { to: string; message: string; priority?: string; "client-message-id"?: string; _?: string[] };

/** --client-message-id, checked (a usage error names what it takes). */
export function retryIdArg(id: string | undefined): string | undefined {
  if (id !== undefined && !ID_RE.test(id)) throw new UsageError("--client-message-id takes the id a failed send printed (8–64 of A-Z a-z 0-9 _ -).");
  return id;
}

export type DeliverOptions = { priority?: Priority; replyTo?: string; clientMessageId?: string };

/** Sends `text` to `target` over `client`, or over a new connection to `mesh` when it dropped
 *  meanwhile (typing may outlast it). A send the link dropped under (the broker may have stored
 *  it) is sent once more on a new connection under the same client message id, which the broker
 *  stores once (docs/protocol.md §5.3). `refine` says a refusal again in the command's terms. */
export async function deliver(ctx: Ctx, mesh: MeshEntry, session: MeshSession, client: BrokerClient, target: string, text: string, opts: DeliverOptions, refine: (c: BrokerClient, err: unknown) => Promise<unknown> = async (_, err) => err): Promise<Results["send"]> {
  const { clientMessageId, ...rest } = opts;
  const sendOn = (c: BrokerClient, id: string | undefined) => session.send(c, target, text, { ...rest, ...(id ? { clientMessageId: id } : {}) }).catch(async (err: unknown) => Promise.reject(await refine(c, err)));
  const link = client.state === "open" ? client : await ctx.connect(mesh);
  try {
    return await sendOn(link, clientMessageId);
  } catch (err) {
    // An `unavailable` the broker answered on a link still open was retried already (context.ts
    // UNAVAILABLE_RETRY_MS): a new connection would only wait for the same answer again.
    if (!(err instanceof SendError && err.code === "unavailable") || link.state === "open") throw err;
    const again = await ctx.connect(mesh).catch(() => Promise.reject(err)); // keep the id to retry with
    return sendOn(again, err.clientMessageId);
  }
}

/** `stdinExample`: the command the empty-stdin hint shows (`topic post` shows itself); `reach`:
 *  how a refusal names another mesh of the user's (send takes "mesh:#topic", `topic post` --mesh). */
export async function sendText(args: SendArgs, stdinExample = "git diff | claudemesh send bob -", reach: PeerWhere["naming"] = "prefix"): Promise<void> {
  await command(args, async (ctx) => {
    const words = restText(args, 1, args.message);
    if (!words.trim()) throw new UsageError("Nothing to send: give the message text.");
    const priority = priorityArg(args.priority);
    const clientMessageId = retryIdArg(args["client-message-id"]);
    const { mesh, target: to } = meshOfTarget(ctx.config(), args.to, args.mesh, ctx.env.mesh);
    const session = sessionFor(ctx, mesh);
    let client = await ctx.connect(mesh);
    // Checked before the message is typed: a name, and the key it stands for (MeshSession.vouchFor).
    const lookup = async () => {
      const r = await resolve(ctx, mesh, client, to, "prefix");
      await session.vouchFor(client, r.target, r.peers);
      return r;
    };
    const { target, peer } = await lookup()
      .catch(async (err: unknown) => {
        // The link dropped under the lookup (a broker restart): reads, asked once more. Not an
        // answer that was malformed: the broker would send it again.
        if (!(err instanceof MeshError && err.code === "unavailable") || err instanceof MalformedAnswerError) throw err;
        // A broker that said it is shutting down and is not back yet: that, not "cannot reach".
        client = await ctx.connect(mesh).catch((again: unknown) => Promise.reject(err instanceof GoingAwayError ? err : again));
        return lookup();
      })
      .catch((err: unknown) => {
        // "nomesh:bob" with no peer of that name: the prefix was meant as a mesh.
        const prefix = err instanceof MeshError && err.code === "unknown_recipient" ? unknownMeshPrefix(ctx.config(), to) : null;
        throw prefix === null ? err : unknownMesh(ctx.config(), to, prefix, true, err);
      });
    if (peer && peer.pubkey === mesh.publicKey) throw new MeshError("invalid_argument", `${peerLabel(peer)} is you. Name another peer (claudemesh peers lists them).`);
    // Read last: a message typed at the prompt is not lost to a wrong mesh or name. Typing may
    // outlast the connection (a broker restart, a dropped link): it is then made again.
    const text = words === "-" ? await messageFromStdin(stdinExample) : words;
    const r = await deliver(ctx, mesh, session, client, target, text, { ...(priority ? { priority } : {}), ...(clientMessageId ? { clientMessageId } : {}) }, async (c, err) =>
      target.startsWith("#") ? topicRefusal(ctx, mesh, c, err, target.slice(1), reach, "send again") : target.startsWith("@") ? groupRefusal(ctx, mesh, c, err, target.slice(1)) : err,
    );
    const name = peer ? peer.displayName : target === "*" ? "everyone" : target;
    // Names are the broker's word; the key prefix says who the message was encrypted to.
    const whom = peer ? peerLabel(peer) : name;
    // Someone in several meshes sees which one it went to (a prefix, --mesh or CLAUDEMESH_MESH chose it).
    const where = ctx.config().meshes.length > 1 ? ` in ${meshLabel(ctx.config(), mesh)}` : "";
    ctx.out.result({ to: target, name, ...r }, () => `Sent to ${whom}${r.topicOffset ? ` (#${r.topicOffset})` : ""}${where}${r.duplicate ? " (already sent)" : ""}. id ${r.messageId}${r.undeliverable.length ? `\n${r.undeliverable.length} recipient(s) skipped: queue full` : ""}`);
  });
}

export const run = (args: SendArgs) => sendText(args);
