// claudemesh audit log|verify. verify fetches the whole chain, recomputes every hash, and compares
// it with the head this machine verified last time: an operator can recompute a chain, but cannot
// make it agree with a head a member already holds.
import { join } from "node:path";
import { verifyChain, type ChainEntry } from "../../protocol/audit-chain.ts";
import type { BrokerClient } from "../../client/client.ts";
import { readPrivateFile, writePrivateFile } from "../../client/local/files.ts";
import { command, type CommonArgs } from "../context.ts";
import { UsageError } from "../output.ts";

async function allEntries(client: BrokerClient): Promise<ChainEntry[]> {
  const out: ChainEntry[] = [];
  for (;;) {
    const { entries } = await client.request("audit_log", { afterSeq: out.length, limit: 500 });
    out.push(...(entries as ChainEntry[]));
    if (entries.length < 500) return out;
  }
}

export async function log(args: CommonArgs & { limit?: string }): Promise<void> {
  await command(args, async (ctx) => {
    const limit = Number(args.limit ?? 50);
    if (!Number.isInteger(limit) || limit < 1) throw new UsageError("--limit must be a positive whole number.");
    const client = await ctx.connect(ctx.mesh());
    const entries = (await allEntries(client)).slice(-limit);
    ctx.out.result({ entries }, () => entries.map((e) => `${String(e.seq).padStart(5)} ${e.createdAt} ${e.eventType.padEnd(16)} ${e.actor ?? "-"} ${JSON.stringify(e.payload)}`).join("\n"));
  });
}

type Checkpoint = { seq: number; hash: string };

export async function verify(args: CommonArgs): Promise<void> {
  await command(args, async (ctx) => {
    const mesh = ctx.mesh();
    const client = await ctx.connect(mesh);
    const entries = await allEntries(client);
    const verdict = verifyChain(entries);
    const path = join(ctx.env.configDir, "audit", `${mesh.meshId}.json`);
    const saved = JSON.parse(readPrivateFile(path) ?? "null") as Checkpoint | null;
    let rewritten: string | null = null;
    if (saved) {
      const atSaved = entries.find((e) => e.seq === saved.seq);
      if (!atSaved) rewritten = `the chain is shorter than the ${saved.seq} entries verified before (truncated or rolled back)`;
      else if (atSaved.hash !== saved.hash) rewritten = `entry ${saved.seq} differs from the one verified before (history rewritten)`;
    }
    const ok = verdict.valid && rewritten === null;
    if (ok && entries.length > 0) writePrivateFile(path, JSON.stringify({ seq: entries.at(-1)!.seq, hash: verdict.head } satisfies Checkpoint));
    const data = { ...verdict, checkpoint: saved, rewritten, ok };
    ctx.out.result(data, () =>
      ok
        ? `Audit chain verified: ${verdict.entries} entries, head ${verdict.head.slice(0, 16)}…${saved ? ` (extends the head you verified at entry ${saved.seq})` : ""}.`
        : verdict.valid
          ? `AUDIT CHAIN ROLLED BACK OR REWRITTEN: ${rewritten}.`
          : `AUDIT CHAIN BROKEN at entry ${verdict.brokenAt}: ${verdict.reason}.`,
    );
    if (!ok) process.exitCode = 5;
  });
}
