// An exclusive lock on a data directory for one serving process: an SQLite EXCLUSIVE transaction
// on <dataDir>/claudemesh.lock, held until the process exits. The lock is an fcntl lock, which the
// kernel drops when its process dies (kill -9 included), so unlike a PID file it cannot go stale,
// and two processes starting at the same moment cannot both get it.
import { Database } from "bun:sqlite";
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";

export const LOCK_FILE = "claudemesh.lock";

/** Takes the lock (creating the directory 0700 and the file 0600 if needed) and keeps it for the
 *  life of the process. Returns false if another process holds it. */
export function lockDataDir(dataDir: string): boolean {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, LOCK_FILE);
  closeSync(openSync(path, "a", 0o600));
  chmodSync(path, 0o600);
  const db = new Database(path);
  try {
    db.run("PRAGMA journal_mode = MEMORY"); // nothing is written: no -journal file beside it
    db.run("BEGIN EXCLUSIVE");
    held.push(db); // never closed: closing would release the lock
    return true;
  } catch {
    db.close();
    return false;
  }
}

const held: Database[] = [];

/** Whether the directory's lock is held (by another process, or another connection of this one);
 *  takes and drops it at once if free. */
export function dataDirLocked(dataDir: string): boolean {
  const path = join(dataDir, LOCK_FILE);
  if (!existsSync(path)) return false;
  const db = new Database(path);
  try {
    db.run("BEGIN EXCLUSIVE");
    db.run("ROLLBACK");
    return false;
  } catch {
    return true;
  } finally {
    db.close();
  }
}
