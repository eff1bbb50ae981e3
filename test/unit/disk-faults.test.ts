// One classification of disk faults (src/store/sqlite/disk-faults.ts) and what each command makes
// of it: serve's "start again", admin restore's and admin token's own fix with the room they need
// (src/broker/admin-errors.ts). The errors are built as Node and bun:sqlite make them, so this runs
// without root; test/integration/admin-full-disk.test.ts meets them on a real full tmpfs.
import { describe, expect, test } from "bun:test";
import { Database, SQLiteError } from "bun:sqlite";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { restoreFailure, tokenFailure } from "../../src/broker/admin-errors.ts";
import { LocalFileError } from "../../src/local-file/error.ts";
import { isDamaged } from "../../src/store/sqlite/db-errors.ts";
import { diskFault, diskFix, diskSaid } from "../../src/store/sqlite/disk-faults.ts";
import { storageProblem } from "../../src/store/sqlite/open.ts";
import { scratchDir } from "../preload.ts";

const dir = scratchDir("cm-disk-faults-");
/** An error with `code`, as Node's fs (ENOSPC) or bun:sqlite (SQLITE_FULL) makes it. */
const coded = (code: string) => Object.assign(new Error(`${code}: raw text`), { code });
const said = (err: unknown) => (err instanceof LocalFileError ? { message: err.message, fix: err.fix } : err);

describe("diskFault", () => {
  // `dir` has far more than 1 MiB free, so an I/O error there is a failing disk, not a full one.
  test.each([
    ["ENOSPC", "full"],
    ["SQLITE_FULL", "full"],
    ["EDQUOT", "quota"],
    ["EIO", "io"],
    ["SQLITE_IOERR_SHMSIZE", "io"],
    ["EACCES", null],
    ["SQLITE_CORRUPT", null],
  ])("%s → %s", (code, fault) => {
    expect(diskFault(coded(code), dir)).toBe(fault as never);
  });

  test("a wrapper without a code of its own is classified by its cause", () => {
    expect(diskFault(new Error("cannot write the PID file", { cause: coded("ENOSPC") }), dir)).toBe("full");
  });
});

test("every command says the fault alike and adds its own next step", () => {
  expect([diskSaid("full", "/d"), diskSaid("quota", "/d"), diskSaid("io", "/d")]).toEqual(["the disk holding /d is full", "the disk quota for /d is used up", "the disk holding /d reported an I/O error"]);
  expect(diskFix("quota", "run this again", " (about 1 KiB)")).toBe("free space there or raise the quota (about 1 KiB), then run this again");
  expect(storageProblem(coded("ENOSPC"), "/d")).toBe("the disk holding /d is full: free space there, then start again");
});

test("admin restore: the room is the backup's size and SQLite's side files, with the restore's fix", () => {
  const backup = join(dir, "backup.db");
  writeFileSync(backup, new Uint8Array(100 * 1024));
  expect(said(restoreFailure(coded("SQLITE_FULL"), "/d", backup))).toEqual({
    message: "Cannot restore into /d: the disk holding /d is full.",
    fix: "free space there (the restore needs about 164 KiB: the backup's size and SQLite's -wal and -shm), then run the restore again",
  });
  expect(said(restoreFailure(coded("EIO"), dir, backup))).toEqual({ message: `Cannot restore into ${dir}: the disk holding ${dir} reported an I/O error.`, fix: "check the disk (dmesg, SMART), then run the restore again" });
});

test("admin token: a full disk with its room, a damaged database named, anything else unchanged", () => {
  expect(said(tokenFailure(coded("SQLITE_FULL"), "/d", "/d/claudemesh.db"))).toEqual({
    message: "Cannot write the new operator token into the broker database /d/claudemesh.db: the disk holding /d is full.",
    fix: "free space there (about 64 KiB, for SQLite's claudemesh.db-wal and claudemesh.db-shm), then run claudemesh admin token --data-dir /d again",
  });
  const garbage = join(dir, "garbage.db");
  writeFileSync(garbage, "x".repeat(4096));
  let notADb: unknown;
  try {
    new Database(garbage).query("SELECT 1 FROM sqlite_master").get();
  } catch (err) {
    notADb = err;
  }
  expect({ sqlite: notADb instanceof SQLiteError, damaged: isDamaged(notADb) }).toEqual({ sqlite: true, damaged: true });
  expect(said(tokenFailure(notADb, "/d", "/d/claudemesh.db"))).toMatchObject({ message: `The broker database /d/claudemesh.db is damaged (${(notADb as Error).message}); the new token was not written.` });
  const other = coded("SQLITE_MISUSE");
  expect(tokenFailure(other, "/d", "/d/claudemesh.db")).toBe(other);
});
