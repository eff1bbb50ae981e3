// snapshotFile (the copy `admin backup` and `admin restore` make) puts its checked copy in place
// with link(2), which refuses a taken name; on a file system without hard links (vfat, some
// network shares: EPERM, ENOTSUP/EOPNOTSUPP, ENOSYS) it falls back to a rename after a last look at
// the name (src/store/sqlite/data-file.ts placeCopy). That fallback was untested.
//
// Why injection and not a real file system: the link is made within one directory (`<out>.partial`
// → `<out>`), so a target on another file system (here /dev/shm, tmpfs, beside / on ext4) never
// meets EXDEV and takes the link path, which the last test shows; no file system without hard links
// can be mounted where these tests run. So the link is replaced by one that fails as such a file
// system's does, and everything else (SQLite, the files, the rename) is real. Where /dev/shm is the
// temp directory's own file system, the cross-device test is skipped, and says so.
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { backupDataDir } from "../../src/broker/backup.ts";
import { snapshotFile, type LinkFile } from "../../src/store/sqlite/data-file.ts";
import { dataDirWithDatabase } from "../helpers/admin.ts";
import { tempDir } from "../helpers/broker.ts";

const DB = "claudemesh.db";

/** A link(2) that fails with `code`, as on a file system without hard links; counts its calls. */
function noHardLinks(code: string): LinkFile & { calls: number } {
  const link = Object.assign(
    () => {
      link.calls++;
      throw Object.assign(new Error(`${code}: link refused`), { code, syscall: "link" });
    },
    { calls: 0 },
  );
  return link;
}

/** The tables of the database file `path`, read-only. */
function tablesOf(path: string): string[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all().map((r) => r.name);
  } finally {
    db.close();
  }
}

const failureOf = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: { name?: string; side?: string; message?: string }) => ({ name: e.name, side: e.side, message: e.message }),
  );

describe("snapshotFile on a file system without hard links", () => {
  test.each(["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS"])("link fails with %s: the copy is renamed into place, sound, 0600, no .partial left", async (code) => {
    const dataDir = await dataDirWithDatabase();
    const out = tempDir("cm-nolink-out-");
    const file = join(out, "b.db");
    const link = noHardLinks(code);
    await snapshotFile(join(dataDir, DB), file, undefined, link);
    expect({ calls: link.calls, files: readdirSync(out), mode: (statSync(file).mode & 0o777).toString(8) }).toEqual({ calls: 1, files: ["b.db"], mode: "600" });
    expect(tablesOf(file)).toEqual(tablesOf(join(dataDir, DB)));
  }, 30_000);

  test("a file made at the name while the copy is checked is kept: the fallback's last look refuses it as 'taken'", async () => {
    const dataDir = await dataDirWithDatabase();
    const out = tempDir("cm-nolink-out-");
    const file = join(out, "b.db");
    const failed = await failureOf(snapshotFile(join(dataDir, DB), file, async () => writeFileSync(file, "mine"), noHardLinks("EPERM")));
    expect({ failed, files: readdirSync(out), kept: Bun.file(file).size }).toEqual({
      failed: { name: "DataFileError", side: "taken", message: `${file} appeared while the copy was being checked; a copy never overwrites.` },
      files: ["b.db"],
      kept: 4,
    });
  }, 30_000);

  test("a link to nothing made at the name is taken too (a rename would have replaced the link)", async () => {
    const dataDir = await dataDirWithDatabase();
    const out = tempDir("cm-nolink-out-");
    const file = join(out, "b.db");
    const failed = await failureOf(snapshotFile(join(dataDir, DB), file, async () => symlinkSync(join(out, "nowhere"), file), noHardLinks("ENOTSUP")));
    expect({ failed: failed?.side, files: readdirSync(out), link: statSync(file, { throwIfNoEntry: false }) === undefined }).toEqual({ failed: "taken", files: ["b.db"], link: true });
  }, 30_000);

  test("another link error is no fallback: a 'copy' failure naming the file, nothing at the name", async () => {
    const dataDir = await dataDirWithDatabase();
    const out = tempDir("cm-nolink-out-");
    const file = join(out, "b.db");
    const failed = await failureOf(snapshotFile(join(dataDir, DB), file, undefined, noHardLinks("EIO")));
    expect(failed).toEqual({ name: "DataFileError", side: "copy", message: `cannot write ${file}: EIO: link refused` });
    expect(existsSync(file)).toBe(false);
  }, 30_000);

  // A real second file system: the backup crosses from the data directory's to /dev/shm's, yet the
  // link it makes is within /dev/shm, so it succeeds and the fallback is not needed there.
  const shm = "/dev/shm";
  const crossDevice = existsSync(shm) && statSync(shm).dev !== statSync(tempDir("cm-nolink-probe-")).dev;
  test.skipIf(!crossDevice)("admin backup to another file system (/dev/shm) succeeds: its link is made within /dev/shm", async () => {
    const dataDir = await dataDirWithDatabase();
    const out = join(shm, `cm-nolink-${process.pid}-${Date.now()}.db`);
    try {
      const r = await backupDataDir(dataDir, out);
      expect({ file: r.file, partial: existsSync(`${out}.partial`), tables: tablesOf(out) }).toEqual({ file: out, partial: false, tables: tablesOf(join(dataDir, DB)) });
    } finally {
      rmSync(out, { force: true });
    }
  }, 30_000);
});
