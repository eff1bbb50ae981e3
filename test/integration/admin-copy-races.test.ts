// What `admin backup` leaves and `admin restore` installs is the copy they checked, even when a
// file changes while they check it (docs/operations.md "Backups", docs/decisions.md session 19):
// - a file made at the backup's name while its copy's chains are verified is kept as it is; the
//   copy is not put over it (snapshotFile placed it with a rename, which replaced that file), and
//   the refusal is the "exists" one (MeshError conflict, exit 5);
// - a backup file edited while a restore verifies it: the restore installs the copy it verified
//   (it verified the backup, then copied it again, unverified, with the edit).
// - a `.partial` at the name before the copy starts (another copy to it) is "taken", left as it is;
// - a default backup name taken meanwhile: the backup takes another name (names of one millisecond
//   differ in 16 random bits; all 65,536 of them are made first, so the retry is certain).
// The races are made deterministic from inside: the first from snapshotFile's `check`; the second
// at the verifier's first yield of the event loop (after PAGE entries, audit-verifier.ts), which is
// a restore's first.
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { backupFailure } from "../../src/broker/backup-errors.ts";
import { PAGE } from "../../src/broker/audit-verifier.ts";
import { restoreDataDir, verifyFileChains } from "../../src/broker/maintenance.ts";
import { backupDataDir } from "../../src/broker/backup.ts";
import type { ChainEntry } from "../../src/protocol/audit-chain.ts";
import { canonicalJson } from "../../src/protocol/canonical-json.ts";
import { openFileChains, snapshotFile } from "../../src/store/sqlite/data-file.ts";
import { admin, dataDirWithDatabase } from "../helpers/admin.ts";
import { invented, relink } from "../helpers/audit-tamper.ts";
import { startBroker, tempDir } from "../helpers/broker.ts";
import { createTestMesh } from "../helpers/mesh.ts";

const DB = "claudemesh.db";

/** `n` entries of a type the replay ignores appended to `meshId`'s chain in the database `path`,
 *  valid: a chain long enough that verifying it yields the event loop. Returns its length. */
async function lengthenChain(path: string, meshId: string, n: number): Promise<number> {
  const chains = openFileChains(path);
  const held = await chains.listAudit(meshId, 0, PAGE);
  chains.close();
  const added = invented(meshId, n, "long").map((c) => ({ ...c, eventType: "note" }) as ChainEntry);
  const db = new Database(path);
  try {
    const insert = db.query("INSERT INTO audit_log (mesh_id, seq, event_type, actor, payload, created_at, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    db.transaction(() => {
      for (const e of relink([...held, ...added], held.length).slice(held.length)) insert.run(e.meshId, e.seq, e.eventType, e.actor, canonicalJson(e.payload), e.createdAt, e.prevHash, e.hash);
    })();
  } finally {
    db.close();
  }
  return held.length + n;
}

describe("admin backup and restore keep what they checked", () => {
  test("a file made at the backup's name while the copy is checked stays; the refusal is the 'exists' one", async () => {
    const dataDir = await dataDirWithDatabase();
    const out = tempDir("cm-race-out-");
    const file = join(out, "b.db");
    const failed = await snapshotFile(join(dataDir, DB), file, async () => writeFileSync(file, "mine")).then(
      () => null,
      (e) => e,
    );
    expect({ name: failed?.name, side: failed?.side, message: failed?.message, kept: readFileSync(file, "utf8").slice(0, 20), files: readdirSync(out) }).toEqual({
      name: "DataFileError",
      side: "taken",
      message: `${file} appeared while the copy was being checked; a copy never overwrites.`,
      kept: "mine",
      files: ["b.db"],
    });
    const said = backupFailure(failed, { db: join(dataDir, DB), file, dataDir, out: true }) as Error & { code?: string };
    expect({ name: said.name, code: said.code, message: said.message }).toEqual({ name: "MeshError", code: "conflict", message: `${file} appeared while the copy was being checked; a copy never overwrites. Choose another name.` });
    // The name free again: the same backup goes through.
    expect((await admin(["backup", "--data-dir", dataDir, "--out", join(out, "c.db")])).code).toBe(0);
  }, 60_000);

  test("a backup edited while a restore verifies it: what is installed is what was verified", async () => {
    const dataDir = tempDir("cm-race-data-");
    let meshId: string;
    {
      await using b = await startBroker({}, { dataDir });
      meshId = (await createTestMesh(b.url)).owner.meshId;
    }
    const backup = join(tempDir("cm-race-out-"), "b.db");
    expect((await admin(["backup", "--data-dir", dataDir, "--out", backup])).code).toBe(0);
    const entries = await lengthenChain(backup, meshId, PAGE);

    const into = tempDir("cm-race-into-");
    const restoring = restoreDataDir(into, backup);
    // Runs at the restore's first yield: the verifier's, after the first PAGE entries.
    let edited = false;
    setImmediate(() => {
      const db = new Database(backup);
      db.run(`UPDATE audit_log SET payload = '{"edited":true}' WHERE mesh_id = ? AND seq = 1`, [meshId]);
      db.close();
      edited = true;
    });
    const restored = await restoring;
    expect({ edited, entries: restored.auditChains.entries }).toEqual({ edited: true, entries });
    const installed = await verifyFileChains(join(into, DB), (why) => new Error(why));
    expect(installed.broken).toBeNull();
  }, 60_000);

  test("a .partial at the name before the copy starts is another copy's: 'taken', and left as it is", async () => {
    const dataDir = await dataDirWithDatabase();
    const out = tempDir("cm-race-out-");
    const file = join(out, "b.db");
    writeFileSync(`${file}.partial`, "another copy");
    const failed = await snapshotFile(join(dataDir, DB), file).then(
      () => null,
      (e) => e,
    );
    expect({ side: failed?.side, message: failed?.message, kept: readFileSync(`${file}.partial`, "utf8"), files: readdirSync(out) }).toEqual({
      side: "taken",
      message: `${file}.partial appeared meanwhile: another copy to ${file} is being written.`,
      kept: "another copy",
      files: ["b.db.partial"],
    });
  }, 60_000);

  test("a default backup name another backup took: the backup takes a new one", async () => {
    const dataDir = await dataDirWithDatabase();
    const then = new Date(0);
    const prefix = `claudemesh-${then.toISOString().replace(/[-:]/g, "")}-`;
    const backups = join(dataDir, "backups");
    mkdirSync(backups);
    for (let n = 0; n < 0x10000; n++) writeFileSync(join(backups, `${prefix}${n.toString(16).padStart(4, "0")}.db`), "");
    const made = await backupDataDir(dataDir, undefined, then);
    expect({ dir: join(made.file, ".."), first: made.file.includes(prefix), files: readdirSync(backups).length }).toEqual({ dir: backups, first: false, files: 0x10001 });
  }, 60_000);
});
