// `claudemesh admin backup` stopped by Ctrl-C (SIGINT), SIGTERM or SIGHUP (its terminal or ssh
// session closed) while it copies the database (src/broker/backup.ts, local-file/interrupt.ts;
// docs/operations.md "Backups and restore"). It left `<out>.partial` and `.partial-journal`, a
// whole unfinished copy, for good: a default name is never used again, and a name given again is
// refused while it is there. Now the copy and what the backup made go, and it exits 130, 143 or
// 129. Session 36 (docs/decisions.md, "SIGHUP, the config and the port's other listeners").
import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { dataDirWithDatabase } from "../helpers/admin.ts";
import { cliEnv, MAIN } from "../helpers/cli.ts";
import { tempDir } from "../helpers/temp-dir.ts";

/** A data directory whose database is padded to ~40 MB, so that copying it takes a while. */
async function paddedDataDir(): Promise<string> {
  const dataDir = await dataDirWithDatabase();
  const db = new Database(join(dataDir, "claudemesh.db"));
  db.run("CREATE TABLE pad (x BLOB)");
  db.run("WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 10000) INSERT INTO pad SELECT randomblob(4000) FROM c");
  db.close();
  return dataDir;
}

for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]] as const) {
  test(`${signal} while admin backup copies: no partial copy is left, exit ${code}`, async () => {
    const dataDir = await paddedDataDir();
    const place = tempDir("cm-backup-int-");
    const out = join(place, "b.db");
    const backup = Bun.spawn([process.execPath, "run", MAIN, "admin", "backup", "--data-dir", dataDir, "--out", out], { stdout: "pipe", stderr: "pipe", env: cliEnv(tempDir("cm-backup-int-cfg-")) });
    // Stopped as soon as its copy is there, so that the signal comes while it is at work.
    const deadline = Date.now() + 30_000;
    while (!existsSync(`${out}.partial`) && backup.exitCode === null && Date.now() < deadline) await Bun.sleep(1);
    backup.kill("SIGSTOP");
    backup.kill(signal);
    backup.kill("SIGCONT");
    expect({ code: await backup.exited, left: readdirSync(place), data: readdirSync(dataDir).sort() }).toEqual({ code, left: [], data: ["claudemesh.db", "claudemesh.lock"] });
  }, 60_000);
}

test("SIGHUP while a backup to the default place copies: the backups directory it made goes too", async () => {
  const dataDir = await paddedDataDir();
  const backup = Bun.spawn([process.execPath, "run", MAIN, "admin", "backup", "--data-dir", dataDir], { stdout: "pipe", stderr: "pipe", env: cliEnv(tempDir("cm-backup-int-cfg-")) });
  const deadline = Date.now() + 30_000;
  const copying = () => existsSync(join(dataDir, "backups")) && readdirSync(join(dataDir, "backups")).some((f) => f.endsWith(".partial"));
  while (!copying() && backup.exitCode === null && Date.now() < deadline) await Bun.sleep(1);
  backup.kill("SIGSTOP");
  backup.kill("SIGHUP");
  backup.kill("SIGCONT");
  expect({ code: await backup.exited, data: readdirSync(dataDir).sort() }).toEqual({ code: 129, data: ["claudemesh.db", "claudemesh.lock"] });
}, 60_000);
