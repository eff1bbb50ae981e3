// What stands where the database file or one of SQLite's side files belongs, when it is not one:
// worded by what it is, since SQLite words each case as something else (a directory where the
// write-ahead log belongs is "disk I/O error", which sends operators to dmesg; one where the
// shared-memory index belongs is "attempt to write a readonly database"; a link whose target's
// directory is missing is "nothing can be created in" a directory that is writable).
import { lstatSync, readlinkSync, realpathSync, statSync, type Stats } from "node:fs";
import { dirname, resolve } from "node:path";
import { NotOurFileError } from "./own-file.ts";

/** The files SQLite keeps beside a database: the write-ahead log, its shared-memory index, and the
 *  rollback journal (before WAL mode is set). */
export const SIDE_SUFFIXES = ["-wal", "-shm", "-journal"] as const;

/** What each of SQLite's files beside the database holds. */
export const SIDE_HOLDS: Record<(typeof SIDE_SUFFIXES)[number], string> = { "-wal": "write-ahead log", "-shm": "shared-memory index", "-journal": "rollback journal" };

/** A shape problem: the sentence, and whether only an operator can change it ("data") or it may
 *  pass by itself (null: a link into a file system that is not mounted yet). */
export type ShapeProblem = { message: string; kind: "data" | null };

const statOf = (path: string, follow: boolean) => {
  try {
    return follow ? statSync(path, { throwIfNoEntry: false }) : lstatSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
};

const realOf = (path: string): string => {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
};

const linkTarget = (link: string): string | null => {
  try {
    return resolve(dirname(link), readlinkSync(link));
  } catch {
    return null;
  }
};

/** What a path that is not a regular file is, in an operator's words ("a named pipe (FIFO)"): for
 *  any file claudemesh opens as a database, such as the backup `admin restore` is given. */
export function notFileKind(st: Stats): string {
  if (st.isDirectory()) return "a directory";
  if (st.isFIFO()) return "a named pipe (FIFO)";
  if (st.isSocket()) return "a socket";
  if (st.isCharacterDevice() || st.isBlockDevice()) return "a device";
  return "not a regular file";
}

/** The first thing wrong with the shape of `db` and its side files, or null when the database is
 *  a file or a link to one (or absent) and each side file — beside the file a link names, where
 *  SQLite keeps them — a file (not a link) or absent (absent is fine: opening creates them). openDatabase refuses what it finds; the broker's start and admin
 *  commands say it (data-dir-errors.ts, maintenance.ts). */
export function dbPathProblem(db: string): ShapeProblem | null {
  const st = statOf(db, true);
  if (st && !st.isFile()) return { message: `${db} is ${notFileKind(st)}, not a database file: move it away and start again`, kind: "data" };
  if (!st && statOf(db, false)?.isSymbolicLink()) {
    // Opening creates a missing target in a directory that exists, so only a missing directory fails.
    const target = linkTarget(db);
    if (target && !statOf(dirname(target), true)) {
      return { message: `${db} is a symbolic link to ${target}, whose directory ${dirname(target)} does not exist: mount or create it, or point the link at the database file`, kind: null };
    }
  }
  // SQLite keeps its side files beside the file a link names, not beside the link.
  const base = st ? realOf(db) : db;
  for (const suffix of SIDE_SUFFIXES) {
    const side = statOf(base + suffix, false);
    // SQLite would follow a link (as root, chown what it points to); it makes these files itself.
    if (side?.isSymbolicLink()) return { message: new NotOurFileError(base + suffix, "a symbolic link").message, kind: "data" };
    if (side && !side.isFile()) return { message: `${base}${suffix} should be the database's ${SIDE_HOLDS[suffix]} but is ${notFileKind(side)}: move it away and start again`, kind: "data" };
  }
  return null;
}
