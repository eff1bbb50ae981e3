// The broker's audit check (src/broker/audit-verifier.ts) on a real SQLite store: it walks a long
// chain in pages with the event loop free between them, shares a walk among concurrent requests,
// hashes only what was appended while its last walk is fresh, and walks everything again after
// RECHECK_MS, which finds a row edited under it. verifyEveryChain (the check `serve` runs at
// start) walks every mesh's chain and also refuses a mesh without a chain and a chain without a
// mesh, which is how a changed mesh id shows.
import { afterEach, describe, expect, test } from "bun:test";
import { AuditVerifier, chainsVerified, PAGE, verifyEveryChain } from "../../src/broker/audit-verifier.ts";
import { AUDIT_RECHECK_MS as RECHECK_MS } from "../../src/protocol/limits.ts";
import { auditHash, verifyChain } from "../../src/protocol/audit-chain.ts";
import { canonicalJson } from "../../src/protocol/canonical-json.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";
import { securityFacts } from "../../src/store/sqlite/audit-tables.ts";
import { seedMesh, TempDirs } from "./store-fixtures.ts";
import { wholeChain } from "../helpers/audit-chain.ts";

const tmp = new TempDirs();
afterEach(() => tmp.cleanup());

/** Appends `n` entries of a type no replay folds, in one transaction (appendAudit would commit each on its own). */
function grow(store: SqliteStore, meshId: string, n: number): void {
  const tail = store.db.query<{ seq: number; hash: string }, [string]>("SELECT seq, hash FROM audit_log WHERE mesh_id = ? ORDER BY seq DESC LIMIT 1").get(meshId)!;
  const insert = store.db.query("INSERT INTO audit_log (mesh_id, seq, event_type, actor, payload, created_at, prev_hash, hash) VALUES (?, ?, 'padding', NULL, ?, ?, ?, ?)");
  let { seq, hash } = tail;
  store.db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const payload = { caps: ["dm"], n: seq };
      const createdAt = new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString();
      const next = auditHash(hash, meshId, "padding", null, payload, createdAt);
      seq += 1;
      insert.run(meshId, seq, canonicalJson(payload), createdAt, hash, next);
      hash = next;
    }
  })();
}

/** The store as the verifier sees it, recording how many entries each walk read. */
function counted(store: SqliteStore) {
  const reads: number[] = [];
  return {
    reads,
    store: {
      listAudit: async (meshId: string, afterSeq: number, limit: number) => {
        const page = await store.listAudit(meshId, afterSeq, limit);
        reads.push(page.length);
        return page;
      },
      countAudit: (meshId: string) => store.countAudit(meshId),
    },
  };
}

describe("audit verifier", () => {
  test("walks a long chain in pages, yielding between them, with the verdict of a walk of all of it", async () => {
    const store = await tmp.open();
    const { mesh } = await seedMesh(store);
    grow(store, mesh.id, 2 * PAGE + 499);
    const { reads, store: view } = counted(store);
    const seen: number[] = [];
    const verifier = new AuditVerifier(view, () => 0, (_, page) => seen.push(...page.map((e) => e.seq)));
    let readsWhenOthersRan = -1;
    setImmediate(() => void (readsWhenOthersRan = reads.length));
    const verdict = await verifier.verify(mesh.id);
    expect(verdict).toEqual(verifyChain(await wholeChain(store, mesh.id)));
    expect(verdict).toMatchObject({ valid: true, entries: 2 * PAGE + 500 });
    expect(reads).toEqual([PAGE, PAGE, 500]);
    // Each verified entry is shown once, in order (the replay check folds them: audit-replay.ts).
    expect(seen).toEqual(Array.from({ length: 2 * PAGE + 500 }, (_, i) => i + 1));
    // Other work (here a setImmediate queued before the walk began) ran while it was walking.
    expect(readsWhenOthersRan).toBeGreaterThan(0);
    expect(readsWhenOthersRan).toBeLessThan(3);
  });

  test("concurrent checks of one mesh share a walk; a later one reads only what was appended", async () => {
    const store = await tmp.open();
    const { mesh } = await seedMesh(store);
    grow(store, mesh.id, 1500);
    const { reads, store: view } = counted(store);
    let now = 1_000;
    const verifier = new AuditVerifier(view, () => now);
    const [a, b, c] = await Promise.all([verifier.verify(mesh.id), verifier.verify(mesh.id), verifier.verify(mesh.id)]);
    expect(a).toMatchObject({ valid: true, entries: 1501 });
    expect([b, c]).toEqual([a, a]);
    expect(reads).toEqual([PAGE, 501]);

    reads.length = 0;
    now += RECHECK_MS - 1;
    grow(store, mesh.id, 7);
    expect(await verifier.verify(mesh.id)).toEqual(verifyChain(await wholeChain(store, mesh.id)));
    expect(reads).toEqual([7]);
  });

  test("after RECHECK_MS the whole chain is walked again: a row edited under the broker is found", async () => {
    const store = await tmp.open();
    const { mesh } = await seedMesh(store);
    grow(store, mesh.id, 20);
    const { reads, store: view } = counted(store);
    let now = 0;
    const verifier = new AuditVerifier(view, () => now);
    expect(await verifier.verify(mesh.id)).toMatchObject({ valid: true, entries: 21 });
    store.db.run("UPDATE audit_log SET payload = ? WHERE mesh_id = ? AND seq = 5", [canonicalJson({ caps: ["dm", "broadcast"], n: 4 }), mesh.id]);
    const broken = { valid: false, entries: 21, brokenAt: 5, reason: "hash does not match the entry's contents" };
    // Within RECHECK_MS only new entries are read: the edit is not seen yet.
    now = RECHECK_MS - 1;
    expect(await verifier.verify(mesh.id)).toMatchObject({ valid: true, entries: 21 });
    now = RECHECK_MS;
    reads.length = 0;
    expect(await verifier.verify(mesh.id)).toMatchObject(broken);
    expect(reads).toEqual([21]);
    // A broken chain is not remembered: every check walks it again and reports it again.
    expect(await verifier.verify(mesh.id)).toMatchObject(broken);
    expect(reads).toEqual([21, 21]);
  });

  test("a clock stepped back since the last walk walks the whole chain again: the edit is not hidden for the step's length", async () => {
    const store = await tmp.open();
    const { mesh } = await seedMesh(store);
    grow(store, mesh.id, 20);
    let now = 10 * RECHECK_MS;
    const verifier = new AuditVerifier(store, () => now);
    expect(await verifier.verify(mesh.id)).toMatchObject({ valid: true, entries: 21 });
    store.db.run("UPDATE audit_log SET payload = ? WHERE mesh_id = ? AND seq = 5", [canonicalJson({ caps: ["dm", "broadcast"], n: 4 }), mesh.id]);
    now -= 5 * RECHECK_MS;
    expect(await verifier.verify(mesh.id)).toMatchObject({ valid: false, brokenAt: 5 });
  });

  test("a prefix past RECHECK_MS is dropped at the next check, also when a check that reused it came after another mesh's walk", async () => {
    let now = 0;
    const empty = { listAudit: async () => [], countAudit: async () => 0 };
    const verifier = new AuditVerifier(empty, () => now);
    await verifier.verify("a"); // a's whole chain, at 0
    now = RECHECK_MS / 2;
    await verifier.verify("b"); // b's, at RECHECK_MS / 2
    now = RECHECK_MS - 1;
    await verifier.verify("a"); // from a's prefix, still fresh: its age stays that of the walk at 0
    now = RECHECK_MS + 1;
    await verifier.verify("c"); // a's prefix is past RECHECK_MS: no walk may start from it
    expect(verifier.size).toBe(2);
  });

  test("verifyEveryChain: every mesh's chain verifies, and every chain has its mesh", async () => {
    const store = await tmp.open();
    const a = (await seedMesh(store, "alpha")).mesh.id;
    const b = (await seedMesh(store, "beta")).mesh.id;
    grow(store, b, 5);
    const [first, second] = [a, b].sort() as [string, string];
    expect(await verifyEveryChain(store, securityFacts(store.db), await store.auditSizes())).toEqual({ meshes: 2, entries: 7, broken: null });
    // An edited entry is named with its seq.
    const at = store.db.query<{ created_at: string }, [string]>("SELECT created_at FROM audit_log WHERE mesh_id = ? AND seq = 1").get(first)!.created_at;
    store.db.run("UPDATE audit_log SET created_at = 'x' WHERE mesh_id = ? AND seq = 1", [first]);
    expect(await verifyEveryChain(store, securityFacts(store.db), await store.auditSizes())).toMatchObject({ broken: { meshId: first, brokenAt: 1, reason: "hash does not match the entry's contents" } });
    store.db.run("UPDATE audit_log SET created_at = ? WHERE mesh_id = ? AND seq = 1", [at, first]);
    // A mesh id changed in the meshes table: its chain is left without a mesh (meshes go in id order).
    store.db.run("PRAGMA foreign_keys = OFF");
    store.db.run("UPDATE meshes SET id = 'zzzzzzzzzzzz' WHERE id = ?", [first]);
    expect(await verifyEveryChain(store, securityFacts(store.db), await store.auditSizes())).toMatchObject({ broken: { meshId: first, brokenAt: null, reason: "the database has audit entries for this mesh but no such mesh" } });
    store.db.run("UPDATE meshes SET id = ? WHERE id = 'zzzzzzzzzzzz'", [first]);
    // A mesh whose chain was removed whole, which nothing in the chain alone shows.
    store.db.run("DELETE FROM audit_log WHERE mesh_id = ?", [second]);
    // Entries walked: the first mesh's (alpha has its mesh_created only, beta 5 more).
    expect(await verifyEveryChain(store, securityFacts(store.db), await store.auditSizes())).toEqual({ meshes: 2, entries: first === a ? 1 : 6, broken: { meshId: second, brokenAt: null, reason: "the mesh has no audit entries (its first, mesh_created, is gone)" } });
  });
});

// What `serve --check`, `admin backup` and `admin restore` print after a verification.
test("chainsVerified counts in words: one mesh, one entry", () => {
  expect([chainsVerified({ meshes: 1, entries: 1 }), chainsVerified({ meshes: 2, entries: 0 })]).toEqual(["audit chains verified: 1 mesh, 1 entry", "audit chains verified: 2 meshes, 0 entries"]);
});
