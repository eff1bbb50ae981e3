// `admin backup` when something is in the way: each failure names the file it is about (the broker
// database it reads, or the copy it writes), says why in words that fit a backup, exits with the
// code of what it is (5: a place or a disk to change; 6 was "broker unavailable" for all of them),
// and leaves the data directory as it was (a full disk left a 3-byte -shm, an empty -wal and an
// empty backups/ there). Default names are unique to the millisecond and a random suffix: two
// backups started in the same second collided on `.partial`. Mounts need root on Linux.
import { describe, expect, test } from "bun:test";
import { cpSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { admin, dataDirWithDatabase } from "../helpers/admin.ts";
import { tempDir } from "../helpers/temp-dir.ts";

const asRootOnLinux = process.platform === "linux" && process.getuid?.() === 0;
const NAME = /^claudemesh-\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{4}\.db$/;

/** Runs `work` with a tmpfs of `size` mounted on a new directory, unmounted afterwards. */
async function withTmpfs<T>(size: string, work: (mnt: string) => Promise<T>): Promise<T> {
  const mnt = tempDir("cm-backup-fail-mnt-");
  expect(Bun.spawnSync(["mount", "-t", "tmpfs", "-o", `size=${size}`, "tmpfs", mnt]).exitCode).toBe(0);
  try {
    return await work(mnt);
  } finally {
    Bun.spawnSync(["umount", "-l", mnt]);
  }
}

describe("admin backup names", () => {
  test("four backups started together all succeed, under four sortable names", async () => {
    const dataDir = await dataDirWithDatabase();
    const runs = await Promise.all(Array.from({ length: 4 }, () => admin(["backup", "--data-dir", dataDir, "--json"])));
    expect(runs.map((r) => ({ code: r.code, stderr: r.stderr }))).toEqual(Array(4).fill({ code: 0, stderr: "" }));
    const names = readdirSync(join(dataDir, "backups"));
    expect({ count: names.length, named: names.every((n) => NAME.test(n)) }).toEqual({ count: 4, named: true });
  }, 60_000);
});

describe.skipIf(!asRootOnLinux)("admin backup on full, read-only and damaged disks", () => {
  test("a full target disk: exit 5, the backup's path, a backup's fix; nothing left there or in the data directory", async () => {
    const dataDir = await dataDirWithDatabase();
    const before = readdirSync(dataDir).toSorted();
    await withTmpfs("64k", async (mnt) => {
      const out = join(mnt, "nightly.db");
      const r = await admin(["backup", "--data-dir", dataDir, "--out", out]);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 5, stderr: `claudemesh: Cannot write the backup ${out}: the disk holding ${mnt} is full.\n  fix: free space there, or give another --out, then run the backup again\n` });
      expect(readdirSync(mnt)).toEqual([]);
    });
    expect(readdirSync(dataDir).toSorted()).toEqual(before);
  }, 60_000);

  test("a full data directory disk: the database is named (SQLite cannot make its -shm), and the directory is left as it was", async () => {
    const seed = await dataDirWithDatabase();
    await withTmpfs("1m", async (mnt) => {
      const dataDir = join(mnt, "data");
      cpSync(seed, dataDir, { recursive: true });
      Bun.spawnSync(["sh", "-c", `head -c 2000000 /dev/zero > '${mnt}/filler'`]);
      const before = readdirSync(dataDir).toSorted();
      const r = await admin(["backup", "--data-dir", dataDir]);
      const db = join(dataDir, "claudemesh.db");
      expect({ code: r.code, stderr: r.stderr }).toEqual({
        code: 5,
        stderr: `claudemesh: Cannot back up the broker database ${db}: the disk holding ${dataDir} is full, and SQLite must write claudemesh.db-shm beside the database to read it.\n  fix: free space there (the broker needs it too), then run the backup again\n`,
      });
      expect(readdirSync(dataDir).toSorted()).toEqual(before);
    });
  }, 60_000);

  test("a data directory on a read-only file system: the source is named, not the copy; admin token says it cannot write", async () => {
    const seed = await dataDirWithDatabase();
    await withTmpfs("4m", async (mnt) => {
      cpSync(join(seed, "claudemesh.db"), join(mnt, "claudemesh.db"));
      expect(Bun.spawnSync(["mount", "-o", "remount,ro", mnt]).exitCode).toBe(0);
      const db = join(mnt, "claudemesh.db");
      const out = join(tempDir("cm-backup-fail-out-"), "b.db");
      const r = await admin(["backup", "--data-dir", mnt, "--out", out]);
      expect({ code: r.code, stderr: r.stderr }).toEqual({
        code: 5,
        stderr: `claudemesh: Cannot back up the broker database ${db}: its file system is read-only, and SQLite must write claudemesh.db-shm beside the database to read it.\n  fix: with no broker running, copy it with cp (and ${db}-wal if there is one); or remount the file system read-write\n`,
      });
      const token = await admin(["token", "--data-dir", mnt]);
      expect({ code: token.code, stderr: token.stderr }).toEqual({
        code: 5,
        stderr: `claudemesh: Cannot write the broker database ${db}: its file system is read-only, and the token is written into the database.\n  fix: remount the file system read-write (no broker can run there either), then run this again\n`,
      });
    });
  }, 60_000);

  test("a damaged database: exit 5 and what to do, not 'broker unavailable'", async () => {
    const dataDir = await dataDirWithDatabase();
    const db = join(dataDir, "claudemesh.db");
    // Page 2 onwards overwritten: the header (page 1) still opens.
    const file = Bun.file(db);
    const bytes = new Uint8Array(await file.arrayBuffer());
    bytes.fill(0xee, 4096, bytes.length);
    await Bun.write(db, bytes);
    const r = await admin(["backup", "--data-dir", dataDir, "--out", join(tempDir("cm-backup-fail-out-"), "b.db")]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({
      code: 5,
      stderr: expect.stringMatching(
        new RegExp(`^claudemesh: The broker database ${db} is damaged \\(.+\\); a copy of it would not restore\\.\\n  fix: stop the broker, confirm with claudemesh serve --check --data-dir ${dataDir}, and restore a backup \\(claudemesh admin restore FILE --force --data-dir ${dataDir}\\)\\n$`),
      ),
    });
  }, 60_000);
});
