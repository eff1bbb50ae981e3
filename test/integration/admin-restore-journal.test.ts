// Rollback journals in a restore. `admin restore --force` moves the database it replaces aside with
// every file SQLite pairs with it, a -journal included: a hot one (a writer killed mid-transaction
// before WAL mode was set) left beside the restored file would be played back into it when the
// broker opens it, the old database's pages over the restored one's. And a backup with a hot
// journal beside it is refused: copied alone, it would be installed half-written.
import { expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers/broker.ts";
import { admin, dataDirWithDatabase } from "../helpers/admin.ts";

const JUNK_ROWS = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400) INSERT INTO junk SELECT randomblob(1000) FROM n";

/** Leaves `path` (made if missing) in rollback-journal mode, its writer killed with SIGKILL in the
 *  middle of a transaction that filled a `junk` table, after changed pages reached the file: its
 *  -journal is hot. */
async function withHotJournal(path: string): Promise<void> {
  const script = join(tempDir("cm-hot-journal-"), "writer.ts");
  writeFileSync(
    script,
    `import { Database } from "bun:sqlite";
     const db = new Database(${JSON.stringify(path)});
     db.run("PRAGMA journal_mode = DELETE");
     db.run("PRAGMA cache_size = 2"); // spills changed pages to the file before the commit
     db.run("BEGIN");
     db.run("CREATE TABLE junk (x BLOB)");
     db.run(${JSON.stringify(JUNK_ROWS)});
     process.kill(process.pid, "SIGKILL");`,
  );
  expect(await Bun.spawn([process.execPath, "run", script]).exited).toBe(137);
  expect(existsSync(`${path}-journal`)).toBe(true);
}

test("restore --force moves a hot -journal aside with the database it replaces", async () => {
  const dataDir = await dataDirWithDatabase();
  const backup = join(tempDir("cm-restore-journal-"), "b.db");
  expect((await admin(["backup", "--data-dir", dataDir, "--out", backup])).code).toBe(0);
  const db = join(dataDir, "claudemesh.db");
  for (const suffix of ["", "-wal", "-shm"]) rmSync(db + suffix, { force: true });
  await withHotJournal(db);

  const r = await admin(["restore", backup, "--data-dir", dataDir, "--force"]);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  const kept = readdirSync(dataDir).filter((f) => f.startsWith("claudemesh.db.before-restore-"));
  expect(kept.map((f) => f.replace(/before-restore-[^-]+/, "before-restore-STAMP")).toSorted()).toEqual(["claudemesh.db.before-restore-STAMP", "claudemesh.db.before-restore-STAMP-journal"]);
  expect(existsSync(`${db}-journal`)).toBe(false);

  expectClaudemeshDatabase(db);
}, 60_000);

/** `file` passes integrity_check and is a claudemesh database without the writer's junk. */
function expectClaudemeshDatabase(file: string): void {
  const db = new Database(file);
  try {
    expect(db.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
    expect(db.query("SELECT name FROM sqlite_master WHERE name IN ('junk', 'schema_migrations')").all()).toEqual([{ name: "schema_migrations" }]);
  } finally {
    db.close();
  }
}

test("a backup beside a hot -journal is refused, and restores once SQLite rolled it back", async () => {
  const dataDir = await dataDirWithDatabase();
  const backup = join(tempDir("cm-restore-journal-"), "b.db");
  expect((await admin(["backup", "--data-dir", dataDir, "--out", backup])).code).toBe(0);
  await withHotJournal(backup);
  const target = tempDir("cm-restore-journal-target-");

  const refused = await admin(["restore", backup, "--data-dir", target]);
  expect({ code: refused.code, stderr: refused.stderr }).toEqual({
    code: 2,
    stderr: `claudemesh: ${backup}-journal is a rollback journal: ${backup} was left in the middle of a write, and only rolling that journal back makes it whole. Open it once with SQLite where it is (for example sqlite3 ${backup} 'PRAGMA integrity_check'), then run the restore again; or restore another backup.\n`,
  });
  expect(readdirSync(target)).toEqual([]);

  expectClaudemeshDatabase(backup); // opening it rolled the journal back
  expect(existsSync(`${backup}-journal`)).toBe(false);
  const r = await admin(["restore", backup, "--data-dir", target]);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  expectClaudemeshDatabase(join(target, "claudemesh.db"));
}, 60_000);
