// An exclusive lock on a data directory for one process (a serving broker, or `admin restore`
// while it replaces the database): an SQLite EXCLUSIVE transaction on <dataDir>/claudemesh.lock,
// held until released or the process exits. The lock is an fcntl lock, which the kernel drops when
// its process dies (kill -9 included), so unlike a PID file it cannot go stale, and two processes
// starting at the same moment cannot both get it. It is the truth about who holds a directory;
// PID files only name the holder. The lock file is the holder's own: a symbolic link in its place
// is refused, never followed (own-file.ts).
import { Database, constants as sqlite } from "bun:sqlite";
import { closeSync, existsSync, ftruncateSync, lstatSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { isDamaged, isLockError } from "./db-errors.ts";
import { NotOurFileError, openOwnFile } from "./own-file.ts";

export const LOCK_FILE = "claudemesh.lock";

/** The lock file cannot be used (a directory, unreadable, …): the message says what to do. */
export class LockFileError extends Error {
  override readonly name = "LockFileError";
}

/** `path`, once what is there (if anything) is a regular file. Throws NotOurFileError for a
 *  symbolic link, LockFileError for anything else that is not a file. */
function checkLockFile(path: string): string {
  let what: string | null = null;
  try {
    const st = lstatSync(path);
    if (st.isSymbolicLink()) throw new NotOurFileError(path, "a symbolic link");
    if (!st.isFile()) what = st.isDirectory() ? "a directory" : "not a regular file";
  } catch (err) {
    if (err instanceof NotOurFileError) throw err;
    // missing: created by the caller
  }
  if (what) throw new LockFileError(`${path} is ${what}; claudemesh needs a file there for its lock: move it away and start again.`);
  return path;
}

const held = new Map<string, Database>();

/** SQLite refuses to open the lock file through a link (SQLITE_CANTOPEN_SYMLINK), one put there
 *  after the look and the open that made it. */
const NO_FOLLOW = sqlite.SQLITE_OPEN_READWRITE | sqlite.SQLITE_OPEN_CREATE | sqlite.SQLITE_OPEN_NOFOLLOW;

/** The lock file opened by SQLite; NotOurFileError for a link in its place. */
function openLock(path: string): Database {
  try {
    return new Database(path, NO_FOLLOW);
  } catch (err) {
    if ((err as { code?: unknown }).code === "SQLITE_CANTOPEN_SYMLINK") throw new NotOurFileError(path, "a symbolic link");
    throw err;
  }
}

/** One attempt: true when taken, false when another connection holds it; throws anything else. */
function tryLock(path: string): boolean {
  const db = openLock(path);
  try {
    db.run("PRAGMA journal_mode = MEMORY"); // nothing is written: no -journal file beside it
    db.run("BEGIN EXCLUSIVE");
    held.set(resolve(path), db); // kept open: closing would release the lock
    return true;
  } catch (err) {
    db.close();
    if (isLockError(err)) return false;
    throw err;
  }
}

/** Takes the lock (creating the directory 0700 and the file 0600 if needed) and keeps it until
 *  unlockDataDir or the end of the process. Returns false if another process (or another
 *  connection of this one) holds it. A lock file holding stray bytes (not an empty SQLite file) is
 *  emptied in place and used. Throws NotOurFileError for a symbolic link where the lock file
 *  belongs (never followed: nothing it points to is opened, emptied or chmod'ed), LockFileError
 *  when the lock file cannot be used, and the file system's error (ENOSPC, EACCES, …) when the
 *  directory or file cannot be created. */
export function lockDataDir(dataDir: string): boolean {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  return lockFile(join(dataDir, LOCK_FILE));
}

/** lockDataDir for the lock file `path` itself, in a directory that exists (created 0600 if
 *  missing, never through a link); released by unlockFile. Throws as lockDataDir does. */
export function lockFile(lockPath: string): boolean {
  const path = checkLockFile(lockPath);
  // Closed before SQLite locks the file: closing any descriptor of a file drops every fcntl lock
  // this process holds on it, SQLite's included.
  closeSync(openOwnFile(path));
  const cannot = (err: unknown) => (err instanceof NotOurFileError ? err : new LockFileError(`cannot use the lock file ${path}: ${(err as Error).message}`, { cause: err }));
  try {
    return tryLock(path);
  } catch (err) {
    if (!isDamaged(err)) throw cannot(err);
  }
  // Nobody holds it (a holder's lock would have answered BUSY before any byte was read). Empty it
  // in place, never by unlink and re-create: two processes repairing at once must still lock
  // the same file. A holder's file is always empty, so truncating it cannot hurt one that got
  // there first. Through a descriptor opened without following a link, never by path.
  const fd = openOwnFile(path);
  try {
    ftruncateSync(fd, 0);
  } finally {
    closeSync(fd);
  }
  try {
    return tryLock(path);
  } catch (err) {
    throw cannot(err);
  }
}

/** Releases a lock this process took with lockDataDir (no-op when it holds none). */
export const unlockDataDir = (dataDir: string) => unlockFile(join(dataDir, LOCK_FILE));

/** Releases a lock this process took with lockFile (no-op when it holds none). */
export function unlockFile(path: string): void {
  const key = resolve(path);
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
 *  takes and drops it at once if free. A missing lock file, or one holding stray bytes, is not
 *  held. Throws LockFileError when the lock file cannot be used. */
export function dataDirLocked(dataDir: string): boolean {
  const path = join(dataDir, LOCK_FILE);
  if (!existsSync(path)) return false;
  checkLockFile(path);
  let db: Database;
  try {
    db = openLock(path);
  } catch (err) {
    if (err instanceof NotOurFileError) throw err;
    throw new LockFileError(`cannot use the lock file ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    db.run("BEGIN EXCLUSIVE");
    db.run("ROLLBACK");
    return false;
  } catch (err) {
    if (isLockError(err)) return true;
    if (isDamaged(err)) return false;
    throw new LockFileError(`cannot use the lock file ${path}: ${(err as Error).message}`, { cause: err });
  } finally {
    db.close();
  }
}
