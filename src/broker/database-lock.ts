// The lock on a data directory (store/sqlite/dir-lock.ts) keeps a second broker or restore away
// from that directory, but `claudemesh.db` may be a symbolic link to a database elsewhere
// (docs/operations.md "Symbolic links"): two data directories linking to one file, or one linking
// to another's database, each took only their own lock and served (or replaced) the same database.
// So the database has a lock too, named after its real path P (links and directories resolved):
// `dirname(P)/claudemesh.lock` when P is named claudemesh.db, else `P.lock`. In the default layout
// that is the data directory's own lock, and nothing more is taken; through a link, it is taken
// with the same rules (an fcntl lock on a 0600 file, never opened through a link), after the
// data directory's, and released with it.
import { lstatSync, realpathSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { LOCK_FILE, lockDataDir, lockFile, unlockDataDir, unlockFile } from "../store/sqlite/dir-lock.ts";
import { DEFAULT_DB_FILE } from "../store/sqlite/open-store.ts";
import { databaseFileOf } from "./restore-target.ts";

/** A `claudemesh.db` link (`link`), the real path of the database it names, and that database's
 *  lock file. */
export type LinkedDatabase = { link: string; database: string; lock: string };

/** The lock of the database `<dataDir>/claudemesh.db` links to, when it is not the directory's own;
 *  null when claudemesh.db is no link, or its end cannot be found: a loop, a directory that does
 *  not exist (the start and the restore refuse those with their own words, db-path-shape.ts), or,
 *  run as root, a link root does not own (never followed: whoever made it chose where the lock
 *  file would be created; the restore refuses it, restore-target.ts). */
export function linkedDatabaseOf(dataDir: string): LinkedDatabase | null {
  const link = join(dataDir, DEFAULT_DB_FILE);
  try {
    if (!lstatSync(link, { throwIfNoEntry: false })?.isSymbolicLink()) return null;
    const end = databaseFileOf(link);
    const database = join(realpathSync(dirname(end)), basename(end));
    const lock = basename(database) === DEFAULT_DB_FILE ? join(dirname(database), LOCK_FILE) : `${database}.lock`;
    return lock === join(realpathSync(dataDir), LOCK_FILE) ? null : { link, database, lock };
  } catch {
    return null;
  }
}

/** The linked databases whose locks this process holds, by resolved data directory. */
const held = new Map<string, LinkedDatabase>();

/** Takes the data directory's lock (lockDataDir) and, when its claudemesh.db links to a database
 *  whose lock is another file, that lock too; both kept until unlockDatabase. Returns null when
 *  this process now holds them, "directory" when the directory's lock is held, or the linked
 *  database when its lock is held (the directory's lock is released again). Throws what lockDataDir
 *  throws, for either lock file (the directory's released first). */
export function lockDatabase(dataDir: string): "directory" | LinkedDatabase | null {
  if (!lockDataDir(dataDir)) return "directory";
  const linked = linkedDatabaseOf(dataDir);
  if (!linked) return null;
  let locked: boolean;
  try {
    locked = lockFile(linked.lock);
  } catch (err) {
    unlockDataDir(dataDir);
    throw err;
  }
  if (!locked) {
    unlockDataDir(dataDir);
    return linked;
  }
  held.set(resolve(dataDir), linked);
  return null;
}

/** Releases what lockDatabase took for `dataDir` (no-op for what this process does not hold). */
export function unlockDatabase(dataDir: string): void {
  const linked = held.get(resolve(dataDir));
  held.delete(resolve(dataDir));
  if (linked) unlockFile(linked.lock);
  unlockDataDir(dataDir);
}

/** The linked database whose lock lockDatabase holds for `dataDir`, if any. */
export const heldLinkedDatabase = (dataDir: string): LinkedDatabase | null => held.get(resolve(dataDir)) ?? null;

/** The database file whose locks this process holds through `dataDir` (after lockDatabase): the
 *  file its claudemesh.db links to, else claudemesh.db itself. */
export const heldDatabaseFile = (dataDir: string): string => heldLinkedDatabase(dataDir)?.database ?? join(dataDir, DEFAULT_DB_FILE);
