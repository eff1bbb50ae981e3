// claudemesh status [idle|working|dnd] · claudemesh summary <text>
// With no argument, status shows what peers see of you: your status and summary.
import type { PeerInfo } from "../../protocol/results.ts";
import { MeshError } from "../../protocol/errors.ts";
import { command, type CommonArgs } from "../context.ts";
import { restText, type Output } from "../output.ts";
import { checkText, FIELDS } from "../input-checks.ts";
import { STATUSES } from "../../protocol/choices.ts";
import { oneOf } from "../choice-arg.ts";

const DND_NOTE = " Only priority-now messages reach you until you change it.";
/** A connection starts idle unless its key was left dnd (docs/protocol.md §5.7): a `working` set
 *  from a terminal lasts while this key stays connected, and this command disconnects at once. */
const WORKING_NOTE = " It lasts while this key stays connected (a Claude Code session's hooks set it for its own key); a later connection of the key starts idle. Use dnd for a status that stays.";

export async function status(args: CommonArgs & { status?: string }): Promise<void> {
  await command(args, async (ctx) => {
    if (args.status === undefined) {
      const mesh = ctx.mesh();
      const { peers } = await (await ctx.connect(mesh)).request("list_peers", {});
      return show(ctx.out, peers as PeerInfo[], mesh.publicKey);
    }
    const status = oneOf(args.status, STATUSES, "Status");
    const client = await ctx.connect(ctx.mesh());
    const r = await client.request("set_status", { status });
    ctx.out.result(r, () => `Status: ${r.status}.${r.status === "dnd" ? DND_NOTE : r.status === "working" ? WORKING_NOTE : ""}`);
  });
}

/** Your own member entry as the broker lists it to peers. */
function show(out: Output, peers: readonly PeerInfo[], me: string): void {
  const self = peers.find((p) => p.pubkey === me);
  if (!self) throw new MeshError("not_found", "The broker did not list you among the peers; run `claudemesh doctor`.");
  const { status, summary } = self;
  out.result({ status, summary }, () => `Status: ${status}.${status === "dnd" ? DND_NOTE : ""}\n${summary ? `Summary: ${summary}` : "No summary (set one with `claudemesh summary <text>`)."}`);
}

export async function summary(args: CommonArgs & { text: string; _?: string[] }): Promise<void> {
  await command(args, async (ctx) => {
    const text = checkText(restText(args, 0, args.text), "The summary", FIELDS.summary);
    const client = await ctx.connect(ctx.mesh());
    const r = await client.request("set_summary", { summary: text });
    ctx.out.result(r, () => (r.summary ? `Summary: ${r.summary}` : "Summary cleared."));
  });
}
