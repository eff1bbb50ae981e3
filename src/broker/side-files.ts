// SQLite makes a database's -wal and -shm beside it when it opens one in WAL mode, and removes them
// when the last connection closes, but not when it fails halfway (a full disk leaves a 3-byte
// -shm and an empty -wal). A command that fails must leave the data directory as it found it, so
// these remove what it made, when that is safe.
import { existsSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { LOCK_FILE } from "../store/sqlite/dir-lock.ts";
import { lockDatabase, unlockDatabase } from "./database-lock.ts";

const SUFFIXES = ["-wal", "-shm"] as const;

/** Which of `db`'s -wal and -shm exist now. */
export function sideFiles(db: string): Set<string> {
  return new Set(SUFFIXES.filter((s) => existsSync(db + s)));
}

/** Removes the -wal and -shm of `db` that were not there `before` (sideFiles), once this process
 *  holds the data directory's lock, and the lock of the database its claudemesh.db links to
 *  (database-lock.ts): no broker then has them open, and none can start and open them meanwhile. A -wal that holds anything is left alone (it may hold commits), and so is
 *  everything when the lock is held or there is no lock file (a broker could be starting: it
 *  takes the lock before it opens the database). Never throws. */
export function removeSideFilesWeMade(dataDir: string, db: string, before: Set<string>): void {
  const made = SUFFIXES.filter((s) => !before.has(s) && existsSync(db + s));
  if (made.length === 0 || !existsSync(join(dataDir, LOCK_FILE))) return;
  try {
    if (lockDatabase(dataDir) !== null) return;
  } catch {
    return;
  }
  try {
    const walEmpty = !existsSync(`${db}-wal`) || statSync(`${db}-wal`).size === 0;
    // The -shm only indexes the -wal: without frames in the -wal it holds nothing.
    if (walEmpty) for (const s of made) rmSync(db + s, { force: true });
  } catch {
    // left as it is: the next broker start opens them like any other
  } finally {
    unlockDatabase(dataDir);
  }
}
