// Reliability plan T24, the tamper matrix, over verifyChain on a 10,000-entry chain: every class of
// test/helpers/audit-tamper.ts at random positions, checked (i) on the chain alone and (ii) with a
// checkpoint a member holds from an earlier verify (seq and hash of the head it saw, compared as
// `claudemesh audit verify` compares them: the entry at that seq must still have that hash).
// What must hold, and what docs/security.md says the audit log guarantees:
// (i)  edit, delete, insert and swap are caught, at the seq the helper predicts; truncation,
//      re-hashing from an entry on, restoring an older backup and replacing the chain are not;
// (ii) a tamper is caught exactly when (i) catches it or it changes or removes an entry at or
//      before the checkpoint: whatever lies wholly after it (a truncation, a re-hash, a restore
//      of a backup taken after it) is not, and cannot be, without a newer checkpoint.
// No false alarm on the untampered chain, for any checkpoint, before or after it grows.
// CI runs 12 tampers per class; FUZZ_SCALE multiplies them (FUZZ_SCALE=84 is the plan's 1,000 a
// class, about 3.5 minutes here), FUZZ_SEED replays a run.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { verifyChain, type ChainEntry } from "../../src/protocol/audit-chain.ts";
import { entryAfter, TAMPERS, tamperOf } from "../helpers/audit-tamper.ts";

const N = 10_000;
const RUNS = 12 * (Number(process.env.FUZZ_SCALE) || 1);
const SEED = Number(process.env.FUZZ_SEED) || undefined;
const MESH = "mesh_T4mperMatrix";

/** A chain as a mesh makes one: varied event types, actors (null: the broker), payloads. */
function chainOf(n: number, from: ChainEntry[] = []): ChainEntry[] {
  const out = from.slice();
  const types = ["member_joined", "grant_changed", "invite_created", "topic_created", "member_revoked", "key_rotated"];
  for (let seq = out.length + 1; seq <= n; seq++) {
    const payload = seq % 3 === 0 ? { memberId: `mbr_${seq}`, reason: seq % 2 ? null : "gone\n\u00e9" } : { recipient: `mbr_${seq % 7}`, sender: "ab".repeat(32), caps: ["dm", "topic"].slice(seq % 2) };
    const createdAt = new Date(Date.UTC(2026, 0, 1) + seq * 1000).toISOString();
    out.push(entryAfter(out.at(-1), seq, { meshId: MESH, eventType: types[seq % types.length]!, actor: seq % 5 ? `mbr_${seq % 11}_member` : null, payload, createdAt }));
  }
  return out;
}

const base = chainOf(N);

/** (ii): whether a member whose checkpoint is entry `c` of `base` flags `entries`. */
function memberFlags(entries: readonly ChainEntry[], c: number, valid: boolean): boolean {
  const atCheckpoint = entries.find((e) => e.seq === c);
  return !valid || atCheckpoint?.hash !== base[c - 1]!.hash;
}

describe("tamper matrix on a 10,000-entry chain", () => {
  test("the untampered chain verifies, and no checkpoint flags it, before or after it grows", () => {
    expect(verifyChain(base)).toEqual({ valid: true, entries: N, head: base[N - 1]!.hash, brokenAt: null, reason: null });
    const grown = chainOf(N + 50, base);
    expect(verifyChain(grown).valid).toBe(true);
    // Checkpoints are cheap to compare once the chain is verified: all of them.
    const alarms = Array.from({ length: N }, (_, i) => i + 1).filter((c) => memberFlags(base, c, true) || memberFlags(grown, c, true));
    expect(alarms).toEqual([]);
  });

  for (const kind of TAMPERS) {
    test(`${kind}: (i) and (ii) report what the positions predict`, () => {
      const tally = { runs: 0, alone: 0, atHead: 0, atHeadFlagged: 0 };
      // Half the checkpoints at the head the chain had before the tamper: a member who verified last.
      const checkpoint = fc.oneof(fc.constant(N), fc.integer({ min: 1, max: N }));
      fc.assert(
        fc.property(tamperOf(kind, base), checkpoint, (t, c) => {
          const v = verifyChain(t.entries);
          expect({ what: t.what, valid: v.valid, brokenAt: v.brokenAt }).toEqual({ what: t.what, valid: t.brokenAt === null, brokenAt: t.brokenAt });
          const flagged = memberFlags(t.entries, c, v.valid);
          expect({ what: t.what, checkpoint: c, flagged }).toEqual({ what: t.what, checkpoint: c, flagged: t.brokenAt !== null || t.firstChanged <= c });
          tally.runs++;
          if (!v.valid) tally.alone++;
          if (c === N) tally.atHead++;
          if (c === N && flagged) tally.atHeadFlagged++;
        }),
        { numRuns: RUNS, seed: SEED },
      );
      // (i) catches its four classes every time and the others never; (ii) with the head before
      // the tamper catches every class every time but an append, which it never catches.
      expect(tally.alone).toBe(["edit", "delete", "insert", "swap"].includes(kind) ? tally.runs : 0);
      expect(tally.atHeadFlagged).toBe(kind === "append" ? 0 : tally.atHead);
    }, 120_000);
  }
});
