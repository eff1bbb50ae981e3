// Files the holder of a data directory makes for itself (its lock file, its PID files): opened,
// and read, without following a symbolic link, and their mode set through the descriptor. `serve`
// and `admin restore` may run as root or as a service user; writing, truncating or chmod'ing such
// a file by path followed a link planted in its place, so that whatever it pointed to (any file
// the process may write) was overwritten and made 0600.
import { closeSync, constants, fchmodSync, fstatSync, lstatSync, openSync, readSync } from "node:fs";

/** Something stands where the data directory's holder keeps a file of its own, and it is not a
 *  file claudemesh made: a symbolic link (never followed), or no regular file. Refused unchanged:
 *  the message names the path and says to remove it. Only an operator can change it. */
export class NotOurFileError extends Error {
  override readonly name = "NotOurFileError";
  constructor(readonly path: string, what: string) {
    super(`${path} is ${what}, not a file claudemesh made: remove it and start again`);
  }
}

/** "a symbolic link" when `path` is one (lstat), else null. */
export function symlinkAt(path: string): string | null {
  return lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink() ? "a symbolic link" : null;
}

/** Whether something is at `path`. Throws NotOurFileError for a link or anything but a regular
 *  file, unopened: opening a device can act on it, and opening a FIFO can wait. */
function ownFileThere(path: string): boolean {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (st?.isSymbolicLink()) throw new NotOurFileError(path, "a symbolic link");
  if (st && !st.isFile()) throw new NotOurFileError(path, "not a regular file");
  return st !== undefined;
}

/** Opens `path` with `flags` and O_NOFOLLOW|O_NONBLOCK, and checks the descriptor is a regular
 *  file (something may have been put there since the look): NotOurFileError otherwise, the
 *  descriptor closed. A link put there since the look is met as ELOOP (EEXIST with O_EXCL). */
function openChecked(path: string, flags: number, mode?: number): number {
  let fd: number;
  try {
    fd = openSync(path, flags | constants.O_NOFOLLOW | constants.O_NONBLOCK, mode);
  } catch (err) {
    if (["ELOOP", "EEXIST"].includes((err as NodeJS.ErrnoException).code ?? "") && symlinkAt(path)) throw new NotOurFileError(path, "a symbolic link");
    throw err;
  }
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw new NotOurFileError(path, "not a regular file");
  }
  return fd;
}

/** Opens `path` for reading and writing, creating it 0600 when missing (`truncate`: emptied;
 *  `exclusive`: only created, never opened when anything is there), and sets its mode to 0600
 *  through the descriptor; returns the descriptor (the caller closes it). Never follows a symbolic
 *  link, never opens anything but a regular file, never waits on a FIFO. Throws NotOurFileError,
 *  nothing changed, for a link or anything but a regular file there; the file system's error
 *  (ENOSPC, EACCES, EEXIST for `exclusive`, …) otherwise. */
export function openOwnFile(path: string, { truncate = false, exclusive = false }: { truncate?: boolean; exclusive?: boolean } = {}): number {
  const { O_RDWR, O_CREAT, O_EXCL, O_TRUNC } = constants;
  ownFileThere(path);
  // O_TRUNC is applied only once open has accepted what is there: a link fails first (ELOOP).
  const fd = openChecked(path, O_RDWR | O_CREAT | (truncate ? O_TRUNC : 0) | (exclusive ? O_EXCL : 0), 0o600);
  try {
    fchmodSync(fd, 0o600); // open's mode applies only when it creates the file
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/** What the file `path` holds (at most `maxBytes`, as UTF-8), read from a descriptor opened as
 *  openOwnFile opens one: what is checked is what is read. Null when nothing is there. Throws
 *  NotOurFileError for a link or anything but a regular file; the file system's error otherwise. */
export function readOwnFile(path: string, maxBytes: number): string | null {
  if (!ownFileThere(path)) return null;
  let fd: number;
  try {
    fd = openChecked(path, constants.O_RDONLY);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null; // removed since the look above
    throw err;
  }
  try {
    const buf = Buffer.alloc(maxBytes);
    return buf.subarray(0, readSync(fd, buf, 0, maxBytes, 0)).toString("utf8");
  } finally {
    closeSync(fd);
  }
}
