// `admin restore` into a data directory whose claudemesh.db is a symbolic link to the database on
// another disk (src/broker/restore-target.ts; docs/operations.md "Backups and restore"): the
// restored database goes where the link points, the link stays, and the database it replaces is
// kept aside beside the real file with its -wal. Before: the rename replaced the link with a plain
// file in the data directory, and the real file, the one an operator's layout keeps, stayed stale.
// Run as root, a link another user owns is not followed (it could name any file on the machine).
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { lchownSync, lstatSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { admin, dataDirWithDatabase } from "../helpers/admin.ts";
import { cli } from "../helpers/cli.ts";
import { tempDir } from "../helpers/temp-dir.ts";

/** A backup of a fresh broker database, made by `admin backup`. */
async function aBackup(): Promise<string> {
  const out = join(tempDir("cm-linked-bk-"), "b.db");
  const r = await admin(["backup", "--data-dir", await dataDirWithDatabase(), "--out", out]);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  return out;
}

/** A data directory whose claudemesh.db links to `<disk>/real.db`, a database `serve --check` made
 *  through the link. */
async function linkedDataDir(): Promise<{ dataDir: string; disk: string; real: string }> {
  const dataDir = tempDir("cm-linked-data-");
  const disk = tempDir("cm-linked-disk-");
  const real = join(disk, "real.db");
  symlinkSync(real, join(dataDir, "claudemesh.db"));
  const made = await cli(tempDir("cm-linked-cfg-"), ["serve", "--check", "--port", "0", "--data-dir", dataDir]);
  expect({ code: made.code, stderr: made.stderr }).toEqual({ code: 0, stderr: "" });
  return { dataDir, disk, real };
}

/** The epoch of the database `file`, through a read-write connection: its close removes the -wal
 *  and -shm that a read-only one would leave. */
const epochOf = (file: string) => {
  const db = new Database(file, { readwrite: true, create: false });
  try {
    return db.query<{ value: string }, []>("SELECT value FROM broker_meta WHERE key = 'epoch'").get()!.value;
  } finally {
    db.close();
  }
};

describe("restore through a claudemesh.db that is a symbolic link", () => {
  test("the restored database replaces the file the link names; the link stays; the old one is kept aside beside it, with its -wal", async () => {
    const backup = await aBackup();
    const { dataDir, disk, real } = await linkedDataDir();
    const link = join(dataDir, "claudemesh.db");
    const oldEpoch = epochOf(real);
    writeFileSync(`${real}-wal`, ""); // as a broker killed before its last checkpoint leaves it
    const r = await admin(["restore", backup, "--force", "--data-dir", dataDir, "--json"]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const out = r.json();
    const kept = readdirSync(disk).find((f) => /^real\.db\.before-restore-\d{8}T\d{6}Z$/.test(f)) ?? "(none)";
    const listed = { disk: readdirSync(disk).sort(), dataDir: readdirSync(dataDir).sort() };
    expect({
      link: lstatSync(link).isSymbolicLink() && readlinkSync(link) === real,
      database: out.database,
      via: out.via,
      previous: out.previous,
      epoch: epochOf(real) === out.epoch,
      keptEpoch: out.previous && epochOf(out.previous) === oldEpoch,
      ...listed,
    }).toEqual({
      link: true,
      database: real,
      via: link,
      previous: join(disk, kept),
      epoch: true,
      keptEpoch: true,
      // real.db.lock: the database's own lock, which the restore held with the directory's (database-lock.ts).
      disk: [kept, `${kept}-wal`, "real.db", "real.db.lock"].sort(),
      dataDir: ["claudemesh.db", "claudemesh.lock"],
    });
  }, 120_000);

  test("a link to a database not made yet: the restore creates it where the link points", async () => {
    const backup = await aBackup();
    const dataDir = tempDir("cm-linked-data-");
    const real = join(tempDir("cm-linked-disk-"), "claudemesh.db");
    symlinkSync(real, join(dataDir, "claudemesh.db"));
    const r = await admin(["restore", backup, "--data-dir", dataDir, "--json"]);
    expect({ code: r.code, stderr: r.stderr, previous: r.json().previous }).toEqual({ code: 0, stderr: "", previous: null });
    expect({ link: lstatSync(join(dataDir, "claudemesh.db")).isSymbolicLink(), epoch: epochOf(real) }).toEqual({ link: true, epoch: r.json().epoch });
  }, 60_000);

  test.skipIf(process.getuid?.() !== 0)("as root, a link another user owns is refused (exit 5), nothing changed", async () => {
    const backup = await aBackup();
    const { dataDir, real } = await linkedDataDir();
    const link = join(dataDir, "claudemesh.db");
    lchownSync(link, 65534, 65534);
    const before = readFileSync(real);
    const r = await admin(["restore", backup, "--force", "--data-dir", dataDir]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({
      code: 5,
      stderr:
        `claudemesh: ${link} is a symbolic link owned by uid 65534, not root: a restore run as root does not follow it (whoever made it could have pointed it at any file); nothing was changed.\n` +
        `  fix: run the restore as that user (sudo -u '#65534' …), or have root make the link (ln -sfn)\n`,
    });
    expect({ link: lstatSync(link).isSymbolicLink(), same: readFileSync(real).equals(before), files: readdirSync(dataDir).sort() }).toEqual({
      link: true,
      same: true,
      files: ["claudemesh.db", "claudemesh.lock"],
    });
  }, 60_000);
});
