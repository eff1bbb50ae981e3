// `admin backup` and `admin restore` verify every mesh's audit chain with the function `serve`
// verifies with before it listens (docs/operations.md "Backups", docs/decisions.md session 18):
// - a backup whose copy holds a chain that does not verify fails (exit 5) naming the mesh and the
//   entry, and keeps the copy as FILE.partial, as evidence, never under the backup's name;
// - a restore refuses such a file (exit 2), naming the same, before it asks for --force, and
//   leaves the data directory exactly as it was;
// - neither stops at serve's start limit (START_CHAIN_CHECK_MAX_ENTRIES): a break in the entry
//   just past it is found as well (and `serve` itself leaves it to `serve --check`, saying so);
// - both replay the chains against the membership tables, as `serve` does: a row that disagrees
//   with its chain is refused like a broken chain.
import { Database } from "bun:sqlite";
import { createHash } from "node:crypto";
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { backupDataDir } from "../../src/broker/backup.ts";
import { restoreDataDir } from "../../src/broker/maintenance.ts";
import { openForServe, START_CHAIN_CHECK_MAX_ENTRIES } from "../../src/broker/store-check.ts";
import { loadBrokerConfig } from "../../src/config/load.ts";
import { jsonLog } from "../../src/log/log.ts";
import { canonicalJson } from "../../src/protocol/canonical-json.ts";
import { LATEST_VERSION } from "../../src/store/migrations.ts";
import { admin } from "../helpers/admin.ts";
import { inventedChain } from "../helpers/audit-tamper.ts";
import { startBroker, tempDir } from "../helpers/broker.ts";
import { addMember, createTestMesh } from "../helpers/mesh.ts";

const DB = "claudemesh.db";
const EDITED = "hash does not match the entry's contents";

/** A stopped broker's data directory holding one mesh (owner, bob: 4 audit entries); its id. */
async function dataDirWithMesh(): Promise<{ dataDir: string; meshId: string }> {
  const dataDir = tempDir("cm-chains-data-");
  await using b = await startBroker({}, { dataDir });
  const { owner } = await createTestMesh(b.url);
  await addMember(b.url, owner, "bob");
  return { dataDir, meshId: owner.meshId };
}

/** Runs `sql` on the database in `dataDir`, as someone who can write the file would. */
function onDisk(dataDir: string, sql: string, params: (string | number)[] = []): void {
  const db = new Database(join(dataDir, DB));
  try {
    db.run(sql, params);
  } finally {
    db.close();
  }
}

/** The payload of entry `seq` of `meshId`'s chain changed inside a sound page: quick_check and
 *  integrity_check cannot see it. */
const editEntry = (dataDir: string, meshId: string, seq: number) => onDisk(dataDir, `UPDATE audit_log SET payload = '{"edited":true}' WHERE mesh_id = ? AND seq = ?`, [meshId, seq]);

/** `meshId`'s chain replaced by `n` invented entries, valid from genesis. */
function padChain(dataDir: string, meshId: string, n: number): void {
  const db = new Database(join(dataDir, DB));
  try {
    const insert = db.query("INSERT INTO audit_log (mesh_id, seq, event_type, actor, payload, created_at, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    db.transaction(() => {
      db.run("DELETE FROM audit_log WHERE mesh_id = ?", [meshId]);
      for (const e of inventedChain(meshId, n, "pad")) insert.run(e.meshId, e.seq, e.eventType, e.actor, canonicalJson(e.payload), e.createdAt, e.prevHash, e.hash);
    })();
  } finally {
    db.close();
  }
}

/** What a data directory holds: its names (but the lock file any command on it leaves, as `serve`
 *  does), and the database's digest. */
const contents = (dataDir: string) => ({
  names: readdirSync(dataDir).filter((n) => n !== "claudemesh.lock").toSorted(),
  db: createHash("sha256").update(readFileSync(join(dataDir, DB))).digest("hex"),
});

/** The error `work` rejects with, as `{name, message}`. */
const rejection = (work: Promise<unknown>) => work.then(
  () => null,
  (e: Error) => ({ name: e.name, message: e.message }),
);

describe("admin backup and restore verify the audit chains", () => {
  test("an entry edited on disk: backup fails naming mesh and entry, keeps the copy as .partial; restore refuses it and changes nothing; a good backup restores", async () => {
    const { dataDir, meshId } = await dataDirWithMesh();
    const out = tempDir("cm-chains-out-");
    const good = join(out, "good.db");
    const taken = await admin(["backup", "--data-dir", dataDir, "--out", good, "--json"]);
    expect({ code: taken.code, chains: taken.json().auditChains }).toEqual({ code: 0, chains: { meshes: 1, entries: 4 } });

    editEntry(dataDir, meshId, 3);
    const bad = join(out, "bad.db");
    const db = join(dataDir, DB);
    const failed = await admin(["backup", "--data-dir", dataDir, "--out", bad]);
    expect({ code: failed.code, stdout: failed.stdout, stderr: failed.stderr, files: readdirSync(out).toSorted() }).toEqual({
      code: 5,
      stdout: "",
      stderr: `claudemesh: The broker database ${db} holds history that does not verify: in the copy just taken, the audit chain of mesh ${meshId} does not verify from entry 3 on (${EDITED}). It was damaged or changed outside the broker, and a broker must not serve it. The copy is kept as ${bad}.partial for inspection, not as a backup: claudemesh admin restore refuses it.\n  fix: stop the broker, confirm with claudemesh serve --check --data-dir ${dataDir}, and restore a backup (claudemesh admin restore FILE --force --data-dir ${dataDir})\n`,
      files: ["bad.db.partial", "good.db"],
    });

    // Restored over the damaged database, which must stay as it is: evidence too.
    const before = contents(dataDir);
    const refused = await admin(["restore", `${bad}.partial`, "--data-dir", dataDir, "--force"]);
    expect({ code: refused.code, stdout: refused.stdout, stderr: refused.stderr }).toEqual({
      code: 2,
      stdout: "",
      stderr: `claudemesh: ${bad}.partial cannot be restored: the audit chain of mesh ${meshId} does not verify from entry 3 on (${EDITED}). Its history was damaged or changed outside the broker before the backup was taken, and claudemesh serve would refuse to start on it; nothing was changed. Restore an earlier backup.\n`,
    });
    expect(contents(dataDir)).toEqual(before);
    // Refused before --force is asked for: that question would not help.
    const unforced = await admin(["restore", `${bad}.partial`, "--data-dir", dataDir]);
    expect({ code: unforced.code, refusal: unforced.stderr.includes("cannot be restored: the audit chain") }).toEqual({ code: 2, refusal: true });

    const restored = await admin(["restore", good, "--data-dir", dataDir, "--force"]);
    expect({ code: restored.code, line: restored.stdout.split("\n")[1] }).toEqual({ code: 0, line: `  integrity_check ok, schema version ${LATEST_VERSION}, 1 mesh, 0 messages; audit chains verified: 1 mesh, 4 entries` });
    const check = await admin(["restore", good, "--data-dir", tempDir("cm-chains-into-"), "--json"]);
    expect({ code: check.code, chains: check.json().auditChains }).toEqual({ code: 0, chains: { meshes: 1, entries: 4 } });
  }, 60_000);

  test("chains that cannot be read, and a mesh whose chain is gone: both refused by both, by name", async () => {
    const { dataDir, meshId } = await dataDirWithMesh();
    const out = tempDir("cm-chains-out-");
    const db = join(dataDir, DB);
    onDisk(dataDir, "DELETE FROM audit_log WHERE mesh_id = ?", [meshId]);
    const gone = `the audit chain of mesh ${meshId} does not verify (the mesh has no audit entries (its first, mesh_created, is gone))`;
    expect(await rejection(backupDataDir(dataDir, join(out, "gone.db")))).toEqual({
      name: "LocalFileError",
      message: `The broker database ${db} holds history that does not verify: in the copy just taken, ${gone}. It was damaged or changed outside the broker, and a broker must not serve it. The copy is kept as ${join(out, "gone.db")}.partial for inspection, not as a backup: claudemesh admin restore refuses it.`,
    });
    expect(await rejection(restoreDataDir(tempDir("cm-chains-into-"), join(out, "gone.db.partial")))).toEqual({
      name: "MeshError",
      message: `${join(out, "gone.db.partial")} cannot be restored: ${gone}. Its history was damaged or changed outside the broker before the backup was taken, and claudemesh serve would refuse to start on it; nothing was changed. Restore an earlier backup.`,
    });

    onDisk(dataDir, "DROP TABLE audit_log");
    expect((await rejection(backupDataDir(dataDir, join(out, "dropped.db"))))?.message).toStartWith(`The broker database ${db} holds history that does not verify: in the copy just taken, its audit chains cannot be read (no such table: audit_log).`);
    const into = tempDir("cm-chains-into-");
    expect(await rejection(restoreDataDir(into, join(out, "dropped.db.partial")))).toEqual({
      name: "MeshError",
      message: `${join(out, "dropped.db.partial")} cannot be restored: its audit chains cannot be read (no such table: audit_log); nothing was changed. Restore another backup.`,
    });
    expect(existsSync(join(into, DB))).toBe(false);
  }, 60_000);

  test("a member row that disagrees with the chain (a role changed on disk, chain intact): refused by both, naming row and field", async () => {
    const { dataDir, meshId } = await dataDirWithMesh();
    const out = tempDir("cm-chains-out-");
    onDisk(dataDir, "UPDATE members SET role = 'admin' WHERE mesh_id = ? AND role = 'member'", [meshId]);
    const disagrees = new RegExp(`the members table of mesh ${meshId} disagrees with the mesh's audit chain \\(member \\S+: role is "admin" in the table, "member" by the chain \\(entry \\d+\\)\\)`);
    expect((await rejection(backupDataDir(dataDir, join(out, "role.db"))))?.message).toMatch(disagrees);
    expect(existsSync(join(out, "role.db"))).toBe(false);
    const into = tempDir("cm-chains-into-");
    expect((await rejection(restoreDataDir(into, join(out, "role.db.partial"))))?.message).toMatch(disagrees);
    expect(existsSync(join(into, DB))).toBe(false);
  }, 60_000);

  test(`a break in entry ${START_CHAIN_CHECK_MAX_ENTRIES + 1}, past serve's start limit, is found by both`, async () => {
    const { dataDir, meshId } = await dataDirWithMesh();
    const last = START_CHAIN_CHECK_MAX_ENTRIES + 1;
    padChain(dataDir, meshId, last);
    editEntry(dataDir, meshId, last);
    const copy = join(tempDir("cm-chains-out-"), "big.db");
    const broken = `the audit chain of mesh ${meshId} does not verify from entry ${last} on (${EDITED})`;
    expect((await rejection(backupDataDir(dataDir, copy)))?.message).toContain(`in the copy just taken, ${broken}.`);
    expect((await rejection(restoreDataDir(tempDir("cm-chains-into-"), `${copy}.partial`)))?.message).toContain(`cannot be restored: ${broken}.`);
    // While `serve` leaves chains past the limit to `serve --check`, and says so.
    const logs: string[] = [];
    const store = await openForServe(loadBrokerConfig({ flags: { dataDir }, env: {} }), jsonLog("info", (l) => logs.push(l)), () => {});
    store.close();
    expect(logs.map((l) => JSON.parse(l)).filter((l) => l.msg.startsWith("audit chain")).map(({ msg, entries }) => ({ msg, entries }))).toEqual([
      { msg: `audit chain verification skipped at start: the chains hold more than ${START_CHAIN_CHECK_MAX_ENTRIES} entries; run claudemesh serve --check --data-dir ${dataDir} to verify them`, entries: last },
    ]);
  }, 60_000);
});
