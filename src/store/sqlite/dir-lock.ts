// An exclusive lock on a data directory for one process (a serving broker, or `admin restore`
// while it replaces the database): an SQLite EXCLUSIVE transaction on <dataDir>/claudemesh.lock,
// held until released or the process exits. The lock is an fcntl lock, which the kernel drops when
// its process dies (kill -9 included), so unlike a PID file it cannot go stale, and two processes
// starting at the same moment cannot both get it. It is the truth about who holds a directory;
// PID files only name the holder.
import { Database } from "bun:sqlite";
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from "node:fs";
import { join, resolve } from "node:path";

export const LOCK_FILE = "claudemesh.lock";

const held = new Map<string, Database>();

/** Takes the lock (creating the directory 0700 and the file 0600 if needed) and keeps it until
 *  unlockDataDir or the end of the process. Returns false if another process (or another
 *  connection of this one) holds it. */
export function lockDataDir(dataDir: string): boolean {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, LOCK_FILE);
  closeSync(openSync(path, "a", 0o600));
  chmodSync(path, 0o600);
  const db = new Database(path);
  try {
    db.run("PRAGMA journal_mode = MEMORY"); // nothing is written: no -journal file beside it
    db.run("BEGIN EXCLUSIVE");
    held.set(resolve(path), db); // kept open: closing would release the lock
    return true;
  } catch {
    db.close();
    return false;
  }
}

/** Releases a lock this process took with lockDataDir (no-op when it holds none). */
export function unlockDataDir(dataDir: string): void {
  const key = resolve(dataDir, LOCK_FILE);
  const db = held.get(key);
  if (!db) return;
  held.delete(key);
  try {
    db.run("ROLLBACK");
  } finally {
    db.close();
  }
}

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
