// `admin restore --force` moves the database it replaces aside with every file SQLite pairs with
// it, a rollback journal included. A hot -journal (a writer killed mid-transaction before WAL mode
// was set) left beside the restored file would be played back into it when the broker opens it:
// the old database's pages written over the restored one's, its size truncated to the old one's.
import { expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers/broker.ts";
import { admin, dataDirWithDatabase } from "../helpers/admin.ts";

/** Makes `path` a rollback-journal database whose writer was killed with SIGKILL mid-transaction,
 *  after it had written changed pages to the file: its -journal is hot. */
async function withHotJournal(path: string): Promise<void> {
  const script = join(tempDir("cm-hot-journal-"), "writer.ts");
  writeFileSync(
    script,
    `import { Database } from "bun:sqlite";
     const db = new Database(${JSON.stringify(path)});
     db.run("PRAGMA journal_mode = DELETE");
     db.run("CREATE TABLE junk (x BLOB)");
     db.run("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400) INSERT INTO junk SELECT randomblob(1000) FROM n");
     db.run("PRAGMA cache_size = 2"); // spills changed pages to the file before the commit
     db.run("BEGIN");
     db.run("UPDATE junk SET x = randomblob(1000)");
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

  const restored = new Database(db);
  try {
    expect(restored.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
    expect(restored.query("SELECT name FROM sqlite_master WHERE name IN ('junk', 'schema_migrations')").all()).toEqual([{ name: "schema_migrations" }]);
  } finally {
    restored.close();
  }
}, 60_000);
