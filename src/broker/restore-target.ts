// Where `admin restore` puts the restored database. `claudemesh.db` may be a symbolic link to the
// database on another disk (serve follows it, and SQLite keeps -wal and -shm beside the real file):
// the restore then works in the directory of the file the link names, so that the link stays, the
// restored database lands where the broker will open it, and the database it replaces is moved
// aside there with its -wal, -shm and -journal. Renaming over the link itself replaced the link
// with a plain file in the data directory and left the real file, stale, where the operator keeps
// it.
import { existsSync, lstatSync, readdirSync, readlinkSync, realpathSync, renameSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { randomId } from "../crypto/hash.ts";
import { LocalFileError, onFile } from "../local-file/error.ts";
import { runsAsRoot } from "../local-file/owner.ts";
import { SIDE_SUFFIXES } from "../store/sqlite/db-path-shape.ts";

/** A database file and what SQLite pairs with it by name. */
export const DATABASE_FILES = ["", ...SIDE_SUFFIXES] as const;

/** Links followed at most (the kernel's own limit, ELOOP past it). */
const MAX_LINK_HOPS = 40;

/** The file the database `db` is: `db`, or the path its chain of symbolic links ends at (which
 *  need not exist yet: the broker would create it there). Run as root, a link is followed only
 *  when root owns it: the directory's owner (the broker's user) could have pointed one at any file
 *  on the machine, which the restore would then move aside and replace. Throws LocalFileError for
 *  such a link, a loop, or a path that cannot be looked at. */
export function databaseFileOf(db: string): string {
  const ctx = { what: "the broker database" };
  let at = db;
  for (let hops = 0; ; hops++) {
    const st = onFile(at, "read", () => lstatSync(at, { throwIfNoEntry: false }), ctx);
    if (!st?.isSymbolicLink()) return at;
    if (hops === MAX_LINK_HOPS) throw new LocalFileError(`${db}: too many levels of symbolic links (a link that leads back to itself?).`, "check the links on the path (ls -l)");
    if (runsAsRoot() && st.uid !== 0) {
      throw new LocalFileError(
        `${at} is a symbolic link owned by uid ${st.uid}, not root: a restore run as root does not follow it (whoever made it could have pointed it at any file); nothing was changed.`,
        `run the restore as that user (sudo -u '#${st.uid}' …), or have root make the link (ln -sfn)`,
      );
    }
    // Relative to the link's real directory, as the kernel reads it.
    const link = at;
    at = onFile(link, "read", () => resolve(realpathSync(dirname(link)), readlinkSync(link)), ctx);
  }
}

/** `path`, or `path-2`, `path-3`…: the first name that neither it nor its side files use (two
 *  restores in one second must not move the second database over the first one kept aside). */
export function unused(path: string): string {
  const free = (p: string) => DATABASE_FILES.every((suffix) => !existsSync(p + suffix));
  let name = path;
  for (let n = 2; !free(name); n++) name = `${path}-${n}`;
  return name;
}

/** Moves `path` and its -wal, -shm and -journal to `to` (+ the same suffixes), those that exist.
 *  All of them: SQLite pairs them with a database by name alone, so a -wal left behind is replayed
 *  into whatever file takes the name next, and a hot -journal (a writer killed before WAL mode was
 *  set) is rolled back into it, its pages over the new file's (corrupting it). */
export function moveDatabase(path: string, to: string): void {
  for (const suffix of DATABASE_FILES) if (existsSync(path + suffix)) renameSync(path + suffix, to + suffix);
}

/** The side files SQLite makes to read a WAL database. */
const READ_SIDE = ["-wal", "-shm"] as const;

/** `read` of the database `replaced` that the restore is about to move aside, removing the side
 *  files the read made: reading a WAL database read-only makes its -shm (and an empty -wal), and
 *  the restore keeps the replaced database aside as it was. Only while the restore holds the
 *  database's lock (no broker has those files open then). */
export async function readingReplaced<T>(replaced: string, read: () => Promise<T>): Promise<T> {
  const made = READ_SIDE.filter((suffix) => !existsSync(replaced + suffix));
  try {
    return await read();
  } finally {
    for (const suffix of made) if (suffix === "-shm" || statSync(replaced + suffix, { throwIfNoEntry: false })?.size === 0) rmSync(replaced + suffix, { force: true });
  }
}

/** The name of the copy a restore of the database `db` stages beside it (stamp: utcStamp):
 *  hidden, and ending with the database's own name, so that the copies of this database, and no
 *  other database's in the same directory, can be found again (removeStagedCopies). */
export const stagedCopy = (db: string, stamp: string) => join(dirname(db), `.restoring-${stamp}-${randomId(4)}.${basename(db)}`);

/** A staged copy of the database named `name` (or of any database, as releases before the name
 *  ended it staged: `.restoring-<stamp>-<id>.db`), or one of its side files. */
const stagedOf = (name: string) => new RegExp(`^\\.restoring-\\d{8}T\\d{6}Z-[\\w-]+\\.(?:${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}|db)(?:-wal|-shm|-journal)?$`);

/** Removes the copies of `db` that a restore killed before it finished (kill -9, a power loss)
 *  staged beside it, with their side files. Only while this process holds the locks of the
 *  database (database-lock.ts): then no restore of it is writing one. Never throws: what cannot
 *  be removed stays, as it did before. */
export function removeStagedCopies(db: string): void {
  try {
    const dir = dirname(db);
    const staged = stagedOf(basename(db));
    for (const f of readdirSync(dir)) if (staged.test(f)) rmSync(join(dir, f), { force: true });
  } catch {
    // a directory that cannot be read: the start or restore says so in its own words
  }
}
