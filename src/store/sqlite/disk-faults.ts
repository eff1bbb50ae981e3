// What a failed file or SQLite operation says about the disk under it: full, over quota, or
// failing. One classification and one sentence for every command that reports it (serve, serve
// --check, admin backup, restore and token); each adds only what to do next in its own words
// ("start again", "run the backup again").
import { statfsSync } from "node:fs";

/** Below this much free space an I/O error is taken for a full disk: SQLite reports a -shm or
 *  -wal it cannot extend as "disk I/O error" (SQLITE_IOERR_SHMSIZE, …), not as SQLITE_FULL. */
const LOW_SPACE = 1 << 20;

/** Whether the file system holding `dir` has less than LOW_SPACE free (false when it cannot tell). */
function lowOnSpace(dir: string): boolean {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize < LOW_SPACE;
  } catch {
    return false;
  }
}

export type DiskFault = "full" | "quota" | "io";

const codeOf = (err: unknown) => String((err as { code?: unknown } | null)?.code ?? "");

/** The disk fault behind `err` (or behind its cause, when `err` is a wrapper without a code of
 *  its own, as DataFileError is), from Node's errno or SQLite's result code
 *  (bun:sqlite puts both in `code`); null for any other error. An I/O error on a disk holding
 *  `dir` with almost no space left is a full disk. */
export function diskFault(err: unknown, dir: string): DiskFault | null {
  const code = codeOf(err) || codeOf((err as { cause?: unknown } | null)?.cause);
  if (code === "ENOSPC" || code === "SQLITE_FULL") return "full";
  if (code === "EDQUOT") return "quota";
  if (code === "EIO" || code.startsWith("SQLITE_IOERR")) return lowOnSpace(dir) ? "full" : "io";
  return null;
}

/** "the disk holding DIR is full": the fault as every command says it. */
export function diskSaid(fault: DiskFault, dir: string): string {
  if (fault === "quota") return `the disk quota for ${dir} is used up`;
  return `the disk holding ${dir} ${fault === "full" ? "is full" : "reported an I/O error"}`;
}

const ACT: Record<DiskFault, string> = { full: "free space there", quota: "free space there or raise the quota", io: "check the disk (dmesg, SMART)" };

/** What to do about `fault`, then `then` ("run the backup again"). `more` follows the first step:
 *  how much space is needed, or another way out (", or give another --out"). */
export const diskFix = (fault: DiskFault, then: string, more = ""): string => `${ACT[fault]}${more}, then ${then}`;

/** How to find and end what holds the write lock on the database file `db` (not a fault of the
 *  disk, but said beside them): at a refused start (data-dir-errors.ts) and by a serving broker
 *  that meets the lock (broker/disk-watch.ts). */
export const findLockHolder = (db: string): string => `find it with fuser -v ${db} (or lsof ${db}), end its transaction or stop it`;
