// What the real `claudemesh admin backup`, `admin token` and `admin restore` say when something other
// than a file stands where the database or one of SQLite's side files belongs: serve's own sentence
// (store/sqlite/db-path-shape.ts, test/integration/serve-db-shape.test.ts), as a local refusal (exit 5,
// like every other path the admin commands cannot use; docs/operations.md "Backups and restore"),
// with nothing changed. Before: a FIFO as claudemesh.db-wal was silently deleted by a backup
// (SQLite unlinks it) that then succeeded, and was "the disk … reported an I/O error: check the disk
// (dmesg, SMART)" to `admin token`; a directory as -wal was "unable to open database file" (exit
// 1, "report it"); a claudemesh.db link into a missing directory (a disk not mounted yet) was "No
// broker database" (exit 4), and a restore replaced the link with a file of its own ("there was no
// previous database"); a FIFO as claudemesh.db was "not a regular file", and a restore moved it
// aside as "the previous database". A FIFO as the backup file itself hung `admin restore` for good
// (opening it waits for a writer) with the data directory locked.
import { describe, expect, test } from "bun:test";
import { lstatSync, mkdirSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { admin, dataDirWithDatabase } from "../helpers/admin.ts";
import { mkdevice, mkfifo } from "../helpers/special-files.ts";
import { tempDir } from "../helpers/temp-dir.ts";

/** A backup file to restore, made once by `admin backup` of a fresh broker database. */
let backupFile: Promise<string> | undefined;
const aBackup = () =>
  (backupFile ??= (async () => {
    const out = join(tempDir("cm-admin-shape-bk-"), "b.db");
    const r = await admin(["backup", "--data-dir", await dataDirWithDatabase(), "--out", out]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    return out;
  })());

/** Each layout, laid on a data directory `serve --check` made; `lay` returns what serve says of it. */
const cases: [name: string, lay: (db: string) => string][] = [
  ["a FIFO as claudemesh.db", (db) => (rmSync(db), mkfifo(db), `${db} is a named pipe (FIFO), not a database file: move it away and start again`)],
  ["a FIFO as claudemesh.db-wal", (db) => (mkfifo(`${db}-wal`), `${db}-wal should be the database's write-ahead log but is a named pipe (FIFO): move it away and start again`)],
  ["a directory as claudemesh.db-wal", (db) => (mkdirSync(`${db}-wal`), `${db}-wal should be the database's write-ahead log but is a directory: move it away and start again`)],
  [
    "a claudemesh.db link into a directory that does not exist (a disk not mounted yet)",
    (db) => {
      const target = join(tempDir("cm-admin-shape-gone-"), "not-mounted", "claudemesh.db");
      rmSync(db);
      symlinkSync(target, db);
      return `${db} is a symbolic link to ${target}, whose directory ${dirname(target)} does not exist: mount or create it, or point the link at the database file`;
    },
  ],
];

/** What a data directory holds, and what each entry is (a FIFO must still be one afterwards). */
const listing = (dir: string) =>
  readdirSync(dir)
    .sort()
    .map((n) => {
      const st = lstatSync(join(dir, n));
      return `${n}:${st.isFIFO() ? "fifo" : st.isSymbolicLink() ? "link" : st.isDirectory() ? "dir" : "file"}`;
    });

describe("admin commands name what stands where the database's files belong", () => {
  test.each(cases)("%s: backup, token and restore --force refuse with serve's sentence, exit 5, nothing changed", async (_name, lay) => {
    const source = await aBackup();
    for (const command of [["backup"], ["token"], ["restore", source, "--force"]]) {
      const dataDir = await dataDirWithDatabase();
      const db = join(dataDir, "claudemesh.db");
      const sentence = lay(db);
      const before = listing(dataDir);
      // A hang is killed by the helper's timeout and fails here as a code of its own.
      const r = await admin([...command, "--data-dir", dataDir], { timeoutMs: 15_000 });
      expect({ command, code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ command, code: 5, stdout: "", stderr: `claudemesh: ${sentence}\n` });
      expect({ command, after: listing(dataDir) }).toEqual({ command, after: before });
    }
  }, 120_000);

  test("restore from a FIFO (or a device) as the backup file: refused at once (exit 2), not a restore that waits forever holding the lock", async () => {
    const dir = tempDir("cm-admin-shape-src-");
    const fifo = join(dir, "pipe.db");
    mkfifo(fifo);
    const device = join(dir, "null.db");
    mkdevice(device);
    for (const [source, is] of [[fifo, "a named pipe (FIFO)"], [device, "a device"]] as const) {
      const dataDir = await dataDirWithDatabase();
      const before = listing(dataDir);
      const r = await admin(["restore", source, "--force", "--data-dir", dataDir], { timeoutMs: 15_000 });
      expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 2, stdout: "", stderr: `claudemesh: ${source} is ${is}; give the backup file itself (the .db file \`claudemesh admin backup\` printed).\n` });
      expect(listing(dataDir)).toEqual(before);
    }
  }, 60_000);
});
