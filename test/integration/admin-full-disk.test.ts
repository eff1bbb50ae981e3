// `admin restore` and `admin token` on a full disk say what failed, that the disk is full, how
// much room they need and what to do, in an admin command's words (exit 5, "run the restore
// again"). They said serve's "free space and start again" with exit 6 (restore), and SQLite's
// "disk I/O error" with exit 1 and "report it" (token), which also left a 3-byte -shm and an empty
// -wal beside the database. Freeing the room the message names is enough: each test does that and
// runs the command again. A damaged database is named by `admin token` as by `admin backup`.
// Mounts need root on Linux.
import { describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdirSync, readdirSync, statSync, truncateSync } from "node:fs";
import { dirname, join } from "node:path";
import { tempDir } from "../helpers/broker.ts";
import { cli } from "../helpers/cli.ts";

const cfg = tempDir("cm-full-admin-cfg-");
const admin = (args: string[]) => cli(cfg, ["admin", ...args], { timeoutMs: 30_000 });
const asRootOnLinux = process.platform === "linux" && process.getuid?.() === 0;

/** A data directory as `serve` leaves it: a real broker database and the lock file. */
async function dataDirWithDatabase(): Promise<string> {
  const dataDir = tempDir("cm-full-admin-data-");
  expect((await cli(cfg, ["serve", "--check", "--port", "0", "--data-dir", dataDir])).code).toBe(0);
  return dataDir;
}

/** Runs `work` on a copy of `seed` (as `data`) in a 1 MiB tmpfs filled to the last block by
 *  `filler`, unmounted afterwards. */
async function onFullDisk<T>(seed: string, work: (dataDir: string, filler: string) => Promise<T>): Promise<T> {
  const mnt = tempDir("cm-full-admin-mnt-");
  expect(Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt]).exitCode).toBe(0);
  try {
    cpSync(seed, join(mnt, "data"), { recursive: true });
    Bun.spawnSync(["sh", "-c", `head -c 2000000 /dev/zero > '${mnt}/filler'`]);
    return await work(join(mnt, "data"), join(mnt, "filler"));
  } finally {
    Bun.spawnSync(["umount", "-l", mnt]);
  }
}

/** Frees `kib` KiB on the filler's disk. */
const free = (filler: string, kib: number) => truncateSync(filler, statSync(filler).size - kib * 1024);

describe.skipIf(!asRootOnLinux)("admin restore and admin token on a full disk", () => {
  test("restore: exit 5, the room it needs and an admin's fix; nothing changed; with that room free it restores", async () => {
    const seed = await dataDirWithDatabase();
    const backup = join(tempDir("cm-full-admin-out-"), "b.db");
    expect((await admin(["backup", "--data-dir", seed, "--out", backup])).code).toBe(0);
    await onFullDisk(seed, async (dataDir, filler) => {
      const before = readdirSync(dataDir).toSorted();
      const r = await admin(["restore", backup, "--force", "--data-dir", dataDir]);
      const room = Math.ceil((statSync(backup).size + 64 * 1024) / 1024);
      expect({ code: r.code, stderr: r.stderr }).toEqual({
        code: 5,
        stderr: `claudemesh: Cannot restore into ${dataDir}: the disk holding ${dataDir} is full.\n  fix: free space there (the restore needs about ${room} KiB: the backup's size and SQLite's -wal and -shm), then run the restore again\n`,
      });
      expect(readdirSync(dataDir).toSorted()).toEqual(before);
      free(filler, room);
      expect((await admin(["restore", backup, "--force", "--data-dir", dataDir])).code).toBe(0);
    });
  }, 90_000);

  test("restore into a data directory it makes: on a full disk, exit 5 and nothing made is left", async () => {
    const seed = await dataDirWithDatabase();
    const backup = join(tempDir("cm-full-admin-out-"), "b.db");
    expect((await admin(["backup", "--data-dir", seed, "--out", backup])).code).toBe(0);
    await onFullDisk(seed, async (dataDir) => {
      const disk = dirname(dataDir);
      // The directory and a parent it makes (it left both, with an empty claudemesh.lock).
      const made = join(disk, "srv", "claudemesh");
      const r = await admin(["restore", backup, "--data-dir", made]);
      expect({ code: r.code, stderr: r.stderr, left: existsSync(join(disk, "srv")) }).toEqual({ code: 5, stderr: expect.stringContaining("is full"), left: false });
      // One that was there is kept, with whatever it held.
      mkdirSync(join(disk, "kept"));
      expect((await admin(["restore", backup, "--data-dir", join(disk, "kept")])).code).toBe(5);
      expect(readdirSync(join(disk, "kept"))).toEqual(["claudemesh.lock"]);
    });
  }, 90_000);

  test("token: exit 5, the room it needs and an admin's fix; no -wal or -shm left; with that room free it writes the token", async () => {
    const seed = await dataDirWithDatabase();
    await onFullDisk(seed, async (dataDir, filler) => {
      const before = readdirSync(dataDir).toSorted();
      const r = await admin(["token", "--data-dir", dataDir]);
      const db = join(dataDir, "claudemesh.db");
      expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
        code: 5,
        stdout: "",
        stderr: `claudemesh: Cannot write the new operator token into the broker database ${db}: the disk holding ${dataDir} is full.\n  fix: free space there (about 64 KiB, for SQLite's claudemesh.db-wal and claudemesh.db-shm), then run claudemesh admin token --data-dir ${dataDir} again\n`,
      });
      expect(readdirSync(dataDir).toSorted()).toEqual(before);
      free(filler, 64);
      expect((await admin(["token", "--data-dir", dataDir])).code).toBe(0);
    });
  }, 90_000);
});

describe("admin token on a damaged database", () => {
  test("exit 5 and what to do, as admin backup says it, not 'report it'", async () => {
    const dataDir = await dataDirWithDatabase();
    const db = join(dataDir, "claudemesh.db");
    // Page 2 onwards overwritten: the header (page 1) still opens.
    const bytes = new Uint8Array(await Bun.file(db).arrayBuffer());
    bytes.fill(0xee, 4096, bytes.length);
    await Bun.write(db, bytes);
    const r = await admin(["token", "--data-dir", dataDir]);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
      code: 5,
      stdout: "",
      stderr: `claudemesh: The broker database ${db} is damaged (database disk image is malformed); the new token was not written.\n  fix: stop the broker, confirm with claudemesh serve --check --data-dir ${dataDir}, and restore a backup (claudemesh admin restore FILE --force --data-dir ${dataDir})\n`,
    });
  }, 60_000);
});
