// claudemesh audit log|verify. verify fetches the whole chain, recomputes every hash, and compares
// it with the head this machine verified last time: an operator can recompute a chain, but cannot
// make it agree with a head a member already holds.
import { join } from "node:path";
import { verifyChain } from "../../protocol/audit-chain.ts";
import { LocalFileError, moveAsideFix, readPrivateJson, writePrivateFile } from "../../client/local/files.ts";
import { command, type CommonArgs } from "../context.ts";
import { UsageError } from "../output.ts";
import { wholeNumber } from "../number-arg.ts";
import { allAuditEntries } from "../../client/audit-log.ts";
import { escapeNotPrintable } from "../../protocol/names.ts";

export async function log(args: CommonArgs & { limit?: string }): Promise<void> {
  await command(args, async (ctx) => {
    const limit = args.limit === undefined ? 50 : wholeNumber(args.limit);
    if (limit === null || limit < 1) throw new UsageError("--limit must be a positive whole number.");
    const client = await ctx.connect(ctx.mesh());
    const entries = (await allAuditEntries(client)).slice(-limit);
    ctx.out.result({ entries }, () => entries.map((e) => `${String(e.seq).padStart(5)} ${e.createdAt} ${e.eventType.padEnd(16)} ${e.actor ?? "-"} ${escapeNotPrintable(JSON.stringify(e.payload))}`).join("\n"));
  });
}

type Checkpoint = { seq: number; hash: string };
/** The checkpoint file: the head verified last, and the one `--accept` replaced, if any. */
type Saved = Checkpoint & { replaced?: Checkpoint & { acceptedAt: number } };

const isCheckpoint = (v: any): v is Checkpoint => v !== null && typeof v === "object" && Number.isSafeInteger(v.seq) && v.seq >= 0 && typeof v.hash === "string" && v.hash !== "";

/** The checkpoint the last verify saved at `path`; null when there is none. A damaged one is
 *  refused (LocalFileError), never taken for "nothing verified before": that would accept a
 *  rewritten chain, and misreading it said "shorter than the undefined entries verified before". */
function readCheckpoint(path: string): Saved | null {
  const fix = moveAsideFix(path, "run claudemesh audit verify again: it checks the chain on its own and saves a new checkpoint, but cannot compare it with the heads verified before");
  const damaged = (why: string) => new LocalFileError(`The audit checkpoint ${path} is damaged: ${why}.`, fix);
  const read = readPrivateJson(path, { what: "the audit checkpoint", holds: "the audit head you verified", damaged: (problem) => damaged(`it ${problem}`) });
  if (read === null) return null;
  const saved = read.value as Saved;
  if (isCheckpoint(saved) && (saved.replaced === undefined || isCheckpoint(saved.replaced))) return saved;
  throw damaged('it does not hold a verified head ({"seq": …, "hash": …})');
}

export async function verify(args: CommonArgs & { accept?: boolean }): Promise<void> {
  await command(args, async (ctx) => {
    const mesh = ctx.mesh();
    // Before connecting: a damaged checkpoint is refused without asking the broker for anything.
    const path = join(ctx.env.configDir, "audit", `${mesh.meshId}.json`);
    const saved = readCheckpoint(path);
    const client = await ctx.connect(mesh);
    const entries = await allAuditEntries(client);
    const verdict = verifyChain(entries);
    const checkpoint = saved && { seq: saved.seq, hash: saved.hash };
    let rewritten: string | null = null;
    if (saved) {
      const atSaved = entries.find((e) => e.seq === saved.seq);
      if (!atSaved) rewritten = `the chain is shorter than the ${saved.seq} entries verified before (truncated or rolled back)`;
      else if (atSaved.hash !== saved.hash) rewritten = `entry ${saved.seq} differs from the one verified before (history rewritten)`;
    }
    // --accept takes a chain that is valid on its own in place of the head verified before: after an
    // operator restored a backup, which the member has confirmed with the operator.
    const accepted = rewritten !== null && args.accept === true && verdict.valid;
    const ok = verdict.valid && (rewritten === null || accepted);
    if (ok && entries.length > 0) {
      const replaced = accepted ? { ...checkpoint!, acceptedAt: Date.now() } : saved?.replaced;
      writePrivateFile(path, JSON.stringify({ seq: entries.at(-1)!.seq, hash: verdict.head, ...(replaced ? { replaced } : {}) } satisfies Saved), { what: "the audit checkpoint" });
    }
    const data = { ...verdict, checkpoint, rewritten, accepted, ok };
    ctx.out.result(data, () =>
      accepted
        ? `Accepted the broker's chain (${verdict.entries} entries, head ${verdict.head.slice(0, 16)}…) in place of the head you verified at entry ${checkpoint!.seq}: ${rewritten}. Later checks compare with this one.`
        : ok
          ? `Audit chain verified: ${verdict.entries} entries, head ${verdict.head.slice(0, 16)}…${saved ? (saved.seq === entries.at(-1)?.seq ? " (unchanged since you last verified it)" : ` (extends the head you verified at entry ${saved.seq})`) : ""}.`
          : verdict.valid
            ? `AUDIT CHAIN ROLLED BACK OR REWRITTEN: ${rewritten}.\nIf the broker's operator restored a backup and told you so, run \`claudemesh audit verify --accept\` to check against this chain from now on; otherwise treat the broker as compromised.`
            : `AUDIT CHAIN BROKEN at entry ${verdict.brokenAt}: ${verdict.reason}.`,
    );
    if (!ok) process.exitCode = 5;
  });
}
