// claudemesh reply <message id> <text>: answers a message read on this machine, to the key that
// sent it, carrying replyTo (its broker messageId) in the inner payload and the send frame
// (docs/protocol.md §11.1), as mesh_reply does. That is what a Claude Code session blocked in
// mesh_ask waits for; a plain `send` to its name is a new message, and the ask times out. The
// sender comes from the local message log (what inbox showed), so only the id is typed: inbox
// prints this command under every question.
import { MeshError } from "../../protocol/errors.ts";
import { ID_RE } from "../../crypto/fields.ts";
import { findMessage } from "../../client/local/message-log.ts";
import type { MeshEntry } from "../../client/local/config-file.ts";
import type { Delivered } from "../../client/mesh-session.ts";
import { command, type CommonArgs, type Ctx } from "../context.ts";
import { restText, UsageError } from "../output.ts";
import { chooseMesh } from "../mesh-choice.ts";
import { meshField, meshLabel, meshOption } from "../mesh-named.ts";
import { senderLabel, sessionFor } from "../mesh-io.ts";
import { deliver, messageFromStdin, priorityArg, retryIdArg } from "./send.ts";

type ReplyArgs = CommonArgs & { id: string; message: string; priority?: string; "client-message-id"?: string; _?: string[] };

/** The message `id` among those read on this machine: in the mesh --mesh names, else in any mesh
 *  joined (a message id names one message, so no mesh need be chosen, and CLAUDEMESH_MESH is no
 *  reason to miss it). Refused (not_found, exit 4) with how to read it when it is not there. */
function readMessage(ctx: Ctx, id: string, flag: string | undefined): { mesh: MeshEntry; message: Delivered } {
  const cfg = ctx.config();
  const meshes = flag ? [chooseMesh(cfg, flag, null)] : cfg.meshes;
  for (const mesh of meshes) {
    const message = findMessage(ctx.env.configDir, mesh.meshId, id);
    if (message) return { mesh, message };
  }
  const where = flag ? ` in ${meshLabel(cfg, meshes[0]!)}` : "";
  // The inbox command as it runs: with several meshes joined it needs --mesh, the one named here
  // or, when every mesh was searched, the one the message came to.
  const option = flag ? meshOption(cfg, meshes[0]!) : cfg.meshes.length > 1 ? " --mesh <mesh it came to>" : "";
  throw new MeshError("not_found", `No message ${id} among those you read on this machine${where}. Read it first with \`claudemesh inbox${option}\` (its id is in the "answer with" line under a question, and in --json), then reply.`);
}

export async function run(args: ReplyArgs): Promise<void> {
  await command(args, async (ctx) => {
    if (!ID_RE.test(args.id)) throw new UsageError(`"${args.id}" is no message id: reply takes the id inbox shows with a message (8–64 of A-Z a-z 0-9 _ -).`);
    const words = restText(args, 1, args.message);
    if (!words.trim()) throw new UsageError("Nothing to send: give the reply's text.");
    const priority = priorityArg(args.priority);
    const clientMessageId = retryIdArg(args["client-message-id"]);
    const { mesh, message } = readMessage(ctx, args.id, args.mesh);
    if (message.kind === "system") throw new MeshError("invalid_argument", `Message ${args.id} is a notice from the claudemesh broker, which nobody can answer.`);
    const session = sessionFor(ctx, mesh);
    const client = await ctx.connect(mesh);
    // To the key that sent it (a Claude Code session's own key, when a session asked), checked
    // before the text is typed, as send checks a name.
    const to = message.from.pubkey;
    await session.vouchFor(client, to);
    const text = words === "-" ? await messageFromStdin(`echo 8080 | claudemesh reply ${args.id} -`) : words;
    // The asker is blocked in mesh_ask, `working` meanwhile: a `next` answer would wait for its turn to end.
    const prio = priority ?? (message.ask ? "now" : undefined);
    const r = await deliver(ctx, mesh, session, client, to, text, { replyTo: message.messageId, ...(prio ? { priority: prio } : {}), ...(clientMessageId ? { clientMessageId } : {}) });
    const cfg = ctx.config();
    const where = cfg.meshes.length > 1 ? ` in ${meshLabel(cfg, mesh)}` : "";
    ctx.out.result({ to, name: message.from.name, replyTo: message.messageId, ...r, ...meshField(cfg, mesh) }, () => `Replied to ${senderLabel(message.from)}${where}${r.duplicate ? " (already sent)" : ""}. id ${r.messageId}${r.undeliverable.length ? "\nNot queued: their queue is full" : ""}`);
  });
}
