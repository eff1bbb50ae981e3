// `audit verify` recomputes the broker's hash chain and compares it with the head this machine
// verified before. Here the operator's side is played by SQL on the broker's database: an edited
// entry breaks the chain; deleted tail entries, or a chain recomputed after an edit, do not match
// the saved checkpoint. Every failure exits 5; `--accept` takes a valid chain after a restore.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startBroker } from "../helpers/broker.ts";
import { cli, cliMesh, identities, ok } from "../helpers/cli.ts";
import { auditHash } from "../../src/protocol/audit-chain.ts";
import type { AuditRow } from "../../src/store/sqlite/rows.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";

/** A mesh with a few audited events: created, two invites, a join. */
async function auditedMesh(url: string, dirs: string[]) {
  const [alice, bob] = dirs as [string, string];
  const mesh = await cliMesh(url, [
    [alice, "alice"],
    [bob, "bob"],
  ]);
  ok(await cli(alice, ["invite"]));
  return mesh;
}

describe("cli audit verify", () => {
  test("an intact chain verifies; an edited payload is BROKEN at that entry", async () => {
    await using b = await startBroker();
    await using ids = identities(2);
    const [alice] = ids.dirs as [string];
    const { meshId } = await auditedMesh(b.url, ids.dirs);
    const db = (b.ctx.store as SqliteStore).db;
    const n = (db.query("SELECT COUNT(*) AS n FROM audit_log WHERE mesh_id = ?").get(meshId) as { n: number }).n;
    expect(n).toBe(5);

    const first = await cli(alice, ["audit", "verify", "--json"]);
    expect({ code: first.code, json: first.json() }).toEqual({ code: 0, json: { valid: true, entries: 5, head: expect.stringMatching(/^[0-9a-f]{64}$/), brokenAt: null, reason: null, checkpoint: null, rewritten: null, accepted: false, ok: true } });
    const head = first.json().head;
    const human = await cli(alice, ["audit", "verify"]);
    // Nothing was added since the --json check: the head is the same, not "extended".
    expect({ code: human.code, stdout: human.stdout }).toEqual({ code: 0, stdout: `Audit chain verified: 5 entries, head ${head.slice(0, 16)}… (unchanged since you last verified it).\n` });

    // Entry 3 (bob joined) now claims another display name.
    const row = db.query("SELECT payload FROM audit_log WHERE mesh_id = ? AND seq = 3").get(meshId) as { payload: string };
    expect(row.payload).toContain('"displayName":"bob"');
    db.run("UPDATE audit_log SET payload = ? WHERE mesh_id = ? AND seq = 3", [row.payload.replace('"displayName":"bob"', '"displayName":"mallory"'), meshId]);

    const broken = await cli(alice, ["audit", "verify", "--json"]);
    expect({ code: broken.code, json: broken.json() }).toEqual({
      code: 5,
      json: { valid: false, entries: 5, head: expect.any(String), brokenAt: 3, reason: "hash does not match the entry's contents", checkpoint: { seq: 5, hash: head }, rewritten: null, accepted: false, ok: false },
    });
    const brokenHuman = await cli(alice, ["audit", "verify"]);
    expect({ code: brokenHuman.code, stdout: brokenHuman.stdout }).toEqual({ code: 5, stdout: "AUDIT CHAIN BROKEN at entry 3: hash does not match the entry's contents.\n" });
  }, 60_000);

  test("a chain that grew since the last verify is said to extend the head verified then", async () => {
    await using b = await startBroker();
    await using ids = identities(2);
    const [alice] = ids.dirs as [string];
    await auditedMesh(b.url, ids.dirs);
    ok(await cli(alice, ["audit", "verify"]));
    ok(await cli(alice, ["topic", "create", "ops"]));
    const grown = await cli(alice, ["audit", "verify"]);
    expect({ code: grown.code, stdout: grown.stdout }).toEqual({ code: 0, stdout: expect.stringMatching(/^Audit chain verified: 6 entries, head [0-9a-f]{16}… \(extends the head you verified at entry 5\)\.\n$/) });
  }, 60_000);

  test("a chain rolled back after a verify, or recomputed after an edit, is reported against the checkpoint", async () => {
    await using b = await startBroker();
    await using ids = identities(2);
    const [alice] = ids.dirs as [string];
    const { meshId } = await auditedMesh(b.url, ids.dirs);
    const db = (b.ctx.store as SqliteStore).db;
    const first = await cli(alice, ["audit", "verify", "--json"]);
    expect({ code: first.code, ok: first.json().ok, entries: first.json().entries }).toEqual({ code: 0, ok: true, entries: 5 });
    const checkpoint = { seq: 5, hash: first.json().head };
    const saved = db.query("SELECT * FROM audit_log WHERE mesh_id = ? ORDER BY seq").all(meshId) as AuditRow[];

    // Roll back: the last two entries disappear; what is left is a valid chain on its own.
    db.run("DELETE FROM audit_log WHERE mesh_id = ? AND seq > 3", [meshId]);
    const rolled = await cli(alice, ["audit", "verify", "--json"]);
    expect({ code: rolled.code, json: rolled.json() }).toEqual({
      code: 5,
      json: { valid: true, entries: 3, head: saved[2]!.hash, brokenAt: null, reason: null, checkpoint, rewritten: "the chain is shorter than the 5 entries verified before (truncated or rolled back)", accepted: false, ok: false },
    });
    const rolledHuman = await cli(alice, ["audit", "verify"]);
    expect({ code: rolledHuman.code, stdout: rolledHuman.stdout }).toEqual({
      code: 5,
      stdout: "AUDIT CHAIN ROLLED BACK OR REWRITTEN: the chain is shorter than the 5 entries verified before (truncated or rolled back).\nIf the broker's operator restored a backup and told you so, run `claudemesh audit verify --accept` to check against this chain from now on; otherwise treat the broker as compromised.\n",
    });

    // Rewrite: all five entries back, entry 2 edited and every hash recomputed, so the chain is
    // internally valid but no longer ends in the head this machine verified.
    db.run("DELETE FROM audit_log WHERE mesh_id = ?", [meshId]);
    let prev = "genesis";
    for (const r of saved) {
      const payload = r.seq === 2 ? JSON.stringify({ ...JSON.parse(r.payload), maxUses: 100 }) : r.payload;
      const hash = auditHash(prev, r.mesh_id, r.event_type, r.actor, JSON.parse(payload), r.created_at);
      db.run("INSERT INTO audit_log (mesh_id, seq, event_type, actor, payload, created_at, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [r.mesh_id, r.seq, r.event_type, r.actor, payload, r.created_at, prev, hash]);
      prev = hash;
    }
    const rewritten = await cli(alice, ["audit", "verify", "--json"]);
    expect({ code: rewritten.code, json: rewritten.json() }).toEqual({
      code: 5,
      json: { valid: true, entries: 5, head: prev, brokenAt: null, reason: null, checkpoint, rewritten: "entry 5 differs from the one verified before (history rewritten)", accepted: false, ok: false },
    });

    // The member confirmed a restore with the operator: --accept takes this chain from now on,
    // and the file keeps the head it replaced.
    const accept = await cli(alice, ["audit", "verify", "--accept"]);
    expect({ code: accept.code, stdout: accept.stdout }).toEqual({
      code: 0,
      stdout: `Accepted the broker's chain (5 entries, head ${prev.slice(0, 16)}…) in place of the head you verified at entry 5: entry 5 differs from the one verified before (history rewritten). Later checks compare with this one.\n`,
    });
    const file = JSON.parse(readFileSync(join(alice, "audit", `${meshId}.json`), "utf8"));
    expect(file).toMatchObject({ seq: 5, hash: prev, replaced: { ...checkpoint, acceptedAt: expect.any(Number) } });
    const after = await cli(alice, ["audit", "verify", "--json"]);
    expect({ code: after.code, ok: after.json().ok, checkpoint: after.json().checkpoint }).toEqual({ code: 0, ok: true, checkpoint: { seq: 5, hash: prev } });
    // A chain that does not verify on its own is never accepted.
    db.run("UPDATE audit_log SET payload = '{}' WHERE mesh_id = ? AND seq = 2", [meshId]);
    const broken = await cli(alice, ["audit", "verify", "--accept", "--json"]);
    expect({ code: broken.code, accepted: broken.json().accepted, brokenAt: broken.json().brokenAt }).toEqual({ code: 5, accepted: false, brokenAt: 2 });
    expect(JSON.parse(readFileSync(join(alice, "audit", `${meshId}.json`), "utf8")).hash).toBe(prev);
  }, 60_000);
});
