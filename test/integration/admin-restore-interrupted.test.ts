// A restore that does not finish leaves no staged copy behind (src/broker/maintenance.ts,
// restore-target.ts removeStagedCopies; docs/operations.md "Backups and restore"). Ctrl-C or
// SIGTERM (or SIGHUP, a closed terminal) while it copies and checks the backup left
// `.restoring-<stamp>-<id>.db`, a whole copy of
// the backup, in the data directory for good. Now such a signal removes it and exits 130 / 143 / 129,
// nothing changed; and what a kill -9 left is removed by the next restore and the next `serve`,
// which hold the database's locks (only this database's copies: another database's in the same
// directory stays).
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { admin, dataDirWithDatabase } from "../helpers/admin.ts";
import { cliEnv, MAIN } from "../helpers/cli.ts";
import { serveOnce } from "../helpers/process.ts";
import { tempDir } from "../helpers/temp-dir.ts";

/** A backup of a fresh database, padded to ~20 MB so that copying and checking it takes a while. */
async function paddedBackup(dataDir: string): Promise<string> {
  const file = join(tempDir("cm-restore-int-bk-"), "b.db");
  expect((await admin(["backup", "--data-dir", dataDir, "--out", file])).code).toBe(0);
  const db = new Database(file);
  db.run("CREATE TABLE pad (x BLOB)");
  db.run("WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 5000) INSERT INTO pad SELECT randomblob(4000) FROM c");
  db.run("PRAGMA journal_mode = DELETE");
  db.close();
  return file;
}

const epochOf = (dataDir: string) => {
  const db = new Database(join(dataDir, "claudemesh.db"), { readwrite: true, create: false });
  try {
    return db.query<{ value: string }, []>("SELECT value FROM broker_meta WHERE key = 'epoch'").get()!.value;
  } finally {
    db.close();
  }
};

const stagedIn = (dir: string) => readdirSync(dir).filter((f) => f.startsWith(".restoring-"));

describe("an interrupted admin restore", () => {
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]] as const) {
    test(`${signal} while it copies the backup: the staged copy and the PID file are removed, nothing is changed, exit ${code}`, async () => {
      const dataDir = await dataDirWithDatabase();
      const backup = await paddedBackup(dataDir);
      const before = epochOf(dataDir);
      const restore = Bun.spawn([process.execPath, "run", MAIN, "admin", "restore", backup, "--force", "--data-dir", dataDir], { stdout: "pipe", stderr: "pipe", env: cliEnv(tempDir("cm-restore-int-cfg-")) });
      // Stopped as soon as its copy is there, so that the signal comes while it is at work.
      const deadline = Date.now() + 30_000;
      while (stagedIn(dataDir).length === 0 && restore.exitCode === null && Date.now() < deadline) await Bun.sleep(1);
      restore.kill("SIGSTOP");
      restore.kill(signal);
      restore.kill("SIGCONT");
      expect({ code: await restore.exited, staged: stagedIn(dataDir), files: readdirSync(dataDir).sort(), epoch: epochOf(dataDir) === before }).toEqual({
        code,
        staged: [],
        files: ["claudemesh.db", "claudemesh.lock"],
        epoch: true,
      });
    }, 60_000);
  }

  test("copies a killed restore left are removed by the next restore and by serve; another database's stay", async () => {
    const dataDir = await dataDirWithDatabase();
    const backup = join(tempDir("cm-restore-int-bk-"), "b.db");
    expect((await admin(["backup", "--data-dir", dataDir, "--out", backup])).code).toBe(0);
    // As restores killed with -9 leave them: this release's names, and the older one's (…-<id>.db).
    const left = [".restoring-20261122T020355Z-3fa9.claudemesh.db", ".restoring-20261122T020355Z-3fa9.claudemesh.db-wal", ".restoring-20261122T020355Z-x_-Y.db"];
    const other = ".restoring-20261122T020355Z-3fa9.other.db"; // a database linked from elsewhere
    const leave = () => [...left, other].forEach((f) => writeFileSync(join(dataDir, f), "half a copy"));
    leave();
    expect((await admin(["restore", backup, "--force", "--data-dir", dataDir])).code).toBe(0);
    expect(stagedIn(dataDir)).toEqual([other]);
    leave();
    expect(await serveOnce(dataDir)).toBe("started");
    expect(stagedIn(dataDir)).toEqual([other]);
  }, 60_000);
});
