// Reliability plan T24 end to end: the tamper classes of test/helpers/audit-tamper.ts written into
// a real broker's database (as an operator with sqlite3 could), and `claudemesh audit verify` run
// by a member who verified the chain earlier. One run of the CLI reports both modes: `valid` and
// `brokenAt` are the chain alone (i), `ok` the chain plus the member's checkpoint (ii). Each must be
// what the tamper's positions predict (see test/unit/audit-tamper.test.ts, which runs the same
// classes many times on a 10,000-entry chain). Two tampers of each class per run; FUZZ_SCALE
// multiplies them, FUZZ_SEED replays a run.
import { describe, expect, test } from "bun:test";
import type { Database } from "bun:sqlite";
import fc from "fast-check";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { canonicalJson } from "../../src/protocol/canonical-json.ts";
import type { ChainEntry } from "../../src/protocol/audit-chain.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";
import { wholeChain } from "../helpers/audit-chain.ts";
import { TAMPERS, tamperOf, type Tampered } from "../helpers/audit-tamper.ts";
import { cli, cliTeam, ok } from "../helpers/cli.ts";

const RUNS = 2 * (Number(process.env.FUZZ_SCALE) || 1);
const SEED = Number(process.env.FUZZ_SEED) || undefined;

/** Makes `entries` the mesh's whole chain in the database, in one transaction. */
function writeChain(db: Database, meshId: string, entries: readonly ChainEntry[]): void {
  const insert = db.query(
    "INSERT INTO audit_log (mesh_id, seq, event_type, actor, payload, created_at, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
  );
  db.transaction(() => {
    db.run("DELETE FROM audit_log WHERE mesh_id = ?", [meshId]);
    for (const e of entries) insert.run(meshId, e.seq, e.eventType, e.actor, canonicalJson(e.payload), e.createdAt, e.prevHash, e.hash);
  })();
}

describe("tamper matrix through the broker's database and claudemesh audit verify", () => {
  test("each class is reported as its positions predict, in both modes", async () => {
    await using team = await cliTeam(["alice"]);
    const { b, dirs: [alice], mesh } = team;
    const store = b.ctx.store as SqliteStore;
    const grants = (n: number) =>
      Promise.all(Array.from({ length: n }, (_, i) => store.appendAudit({ meshId: mesh.meshId, eventType: "grant_changed", actor: mesh.members.alice!.memberId, payload: { recipient: `mbr_${i}`, caps: ["dm"] } })));
    // The member verifies at entry 30 (its checkpoint), then the chain grows to 60.
    await grants(29);
    const first = ok(await cli(alice, ["audit", "verify", "--json"])).json();
    expect({ entries: first.entries, ok: first.ok }).toEqual({ entries: 30, ok: true });
    await grants(30);
    const base = await wholeChain(store, mesh.meshId);
    expect(base.length).toBe(60);
    const checkpointFile = join(alice, "audit", `${mesh.meshId}.json`);
    const checkpoint = readFileSync(checkpointFile, "utf8");
    const c = 30;

    const untampered = await cli(alice, ["audit", "verify", "--json"]);
    expect({ code: untampered.code, valid: untampered.json().valid, rewritten: untampered.json().rewritten, ok: untampered.json().ok }).toEqual({ code: 0, valid: true, rewritten: null, ok: true });

    for (const kind of TAMPERS) {
      await fc.assert(
        fc.asyncProperty(tamperOf(kind, base), async (t: Tampered) => {
          writeChain(store.db, mesh.meshId, t.entries);
          writeFileSync(checkpointFile, checkpoint);
          const r = await cli(alice, ["audit", "verify", "--json"]);
          const got = r.json();
          const flagged = t.brokenAt !== null || t.firstChanged <= c;
          expect({ what: t.what, code: r.code, valid: got.valid, brokenAt: got.brokenAt, ok: got.ok }).toEqual({ what: t.what, code: flagged ? 5 : 0, valid: t.brokenAt === null, brokenAt: t.brokenAt, ok: !flagged });
          // On a chain that verifies, the checkpoint is what tells.
          if (got.valid) expect({ what: t.what, rewritten: got.rewritten !== null }).toEqual({ what: t.what, rewritten: t.firstChanged <= c });
          writeChain(store.db, mesh.meshId, base);
        }),
        { numRuns: RUNS, seed: SEED },
      );
    }
  }, 120_000);
});
