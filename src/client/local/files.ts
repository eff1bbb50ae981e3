// Private files: directory 0700, files 0600, written atomically (temp file in the same directory,
// fsync, rename), so a crash never leaves a half-written key file. A file that others can read is
// refused with the command that fixes it. Only claudemesh's own directories (the config dir and
// its subdirectories) are created or tightened to 0700; a file the user names (a backup) is written
// 0600 and its directory is left exactly as it is. Every failure is a LocalFileError saying what
// the path is and what to do (src/local-file/error.ts), never the file system's raw error.
import { accessSync, chmodSync, closeSync, constants, fchmodSync, fstatSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, realpathSync, renameSync, statSync, writeSync, existsSync, unlinkSync, type Stats } from "node:fs";
import { dirname, join, basename, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { LocalFileError, modeOf, onFile, type FileContext } from "../../local-file/error.ts";
import { parseJsonText } from "../../local-file/json.ts";

export { LocalFileError };

/** The fix for one of claudemesh's own files that is damaged or in the way: it is moved aside
 *  rather than deleted, since it may hold the only copy of a key. */
/** Moves a damaged file to `<path>.damaged-<ms>` (kept as evidence) and returns where it went. */
export function moveDamagedAside(path: string): string {
  const aside = `${path}.damaged-${Date.now()}`;
  renameSync(path, aside);
  return aside;
}

export const moveAsideFix = (path: string, then = "run this again") => `move it aside (mv ${path} ${path}.aside), then ${then}`;

/** Creates one of claudemesh's own directories (and missing parents) with mode 0700, and
 *  tightens it if it exists. Never for a directory the user chose for a file: use writeUserFile.
 *  A shared directory (sticky bit, like /tmp) is refused rather than changed. */
export function ensurePrivateDir(dir: string): void {
  onFile(dir, "create", () => mkdirSync(dir, { recursive: true, mode: 0o700 }));
  const st = onFile(dir, "read", () => statSync(dir));
  if ((st.mode & 0o1000) !== 0) throw new LocalFileError(`${dir} is a shared directory (sticky bit); claudemesh keeps keys only in a directory of its own.`, "set CLAUDEMESH_CONFIG_DIR to a directory of your own (default ~/.claudemesh)");
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

/** Refuses a file or directory that group or others can read or write, given its stat `st`;
 *  `holds` says what is at stake in the message. */
export function assertPrivate(path: string, st: Stats, holds = "private keys"): void {
  if ((st.mode & 0o077) !== 0) {
    throw new LocalFileError(`${path} is readable by other users (mode ${modeOf(st)}); it holds ${holds}.`, `chmod ${st.isDirectory() ? 700 : 600} ${path}`);
  }
}

/** Writes a file inside claudemesh's own directories: the directory is made private first. */
export function writePrivateFile(path: string, data: string | Uint8Array, ctx: FileContext = {}): void {
  ensurePrivateDir(dirname(path));
  onFile(path, "write", () => writeAtomic0600(path, data), ctx);
}

/** Where a write to the user-named `path` lands, and what is there now. A symbolic link is
 *  followed (to the file it names, which need not exist yet) only when this user owns it: in a
 *  shared directory like /tmp another user could plant one pointing at a file of ours. `what` is
 *  null for nothing, "file" for a regular file, else a phrase for what a rename would destroy
 *  rather than write into (a directory, a device, a FIFO, a socket). */
export type UserFileTarget = { path: string; via: string | null; what: null | "file" | "a directory" | "a device" | "a FIFO (named pipe)" | "a socket" | "a link owned by another user" };

/** Links followed at most (the kernel's own limit, ELOOP past it). */
const MAX_LINK_HOPS = 40;

const describeStats = (st: Stats): UserFileTarget["what"] =>
  st.isFile() ? "file" : st.isDirectory() ? "a directory" : st.isFIFO() ? "a FIFO (named pipe)" : st.isSocket() ? "a socket" : "a device";

export function userFileTarget(path: string, ctx: FileContext = {}): UserFileTarget {
  let at = resolve(path);
  for (let hops = 0; ; hops++) {
    const st = onFile(at, "write", () => lstatSync(at, { throwIfNoEntry: false }), ctx);
    if (!st) return { path: at, via: at === resolve(path) ? null : resolve(path), what: null };
    if (!st.isSymbolicLink()) return { path: at, via: at === resolve(path) ? null : resolve(path), what: describeStats(st) };
    if (st.uid !== process.getuid?.()) return { path: at, via: null, what: "a link owned by another user" };
    if (hops >= MAX_LINK_HOPS) throw new LocalFileError(`${path}: too many levels of symbolic links.`);
    // Relative to the link's real directory, as the kernel reads it.
    const link = at;
    at = onFile(link, "write", () => resolve(realpathSync(dirname(link)), readlinkSync(link)), ctx);
  }
}

/** Throws LocalFileError when a new file at `path` could not be written: its nearest existing
 *  ancestor is not a directory, or this user may not write in it. Checked before slow work
 *  (deriving a key from a passphrase) so that the refusal comes first; the write itself can still
 *  fail (a read-only or full disk) and says so. */
export function assertCanCreate(path: string, ctx: FileContext = {}): void {
  const target = resolve(path);
  let dir = dirname(target);
  // A path through a file fails here (ENOTDIR); directories still missing are mkdir -p's to make.
  while (!onFile(target, "write", () => statSync(dir, { throwIfNoEntry: false }), ctx) && dirname(dir) !== dir) dir = dirname(dir);
  onFile(target, "write", () => accessSync(dir, constants.W_OK | constants.X_OK), ctx);
}

/** Writes a file at a path the user chose (a backup): mode 0600 from its creation, atomically,
 *  without changing the directory's mode (it may be /tmp or a shared folder). Missing parent
 *  directories are created 0700; existing ones are left alone. A link of this user's is written
 *  through (userFileTarget); anything there but a regular file is refused with LocalFileError.
 *  Returns the path written. */
export function writeUserFile(path: string, data: string | Uint8Array, ctx: FileContext = {}): string {
  const target = userFileTarget(path, ctx);
  if (target.what !== null && target.what !== "file") throw new LocalFileError(`${path} is ${target.what}; only a regular file is replaced. Nothing was written.`);
  onFile(target.path, "write", () => {
    mkdirSync(dirname(target.path), { recursive: true, mode: 0o700 });
    writeAtomic0600(target.path, data);
  }, ctx);
  return target.path;
}

/** A temp file this old whose writer's pid is not running is stale. A write holds its temp file
 *  for milliseconds; the margin spares a writer on another machine or in another PID namespace
 *  that shares the directory, whose pid means nothing here. */
const STALE_TEMP_MS = 60_000;

/** `.<name>.<pid>.<12 hex>.tmp` beside the target: hidden, and naming its writer, so that a later
 *  write can tell one a killed process left (SIGKILL, power loss) from one being written. */
const TEMP_SUFFIX = ".tmp";
const TEMP_MIDDLE = /^([1-9][0-9]{0,9})\.[0-9a-f]{12}$/;
const tempPrefix = (path: string) => `.${basename(path)}.`;

/** False only when no process has this pid (ESRCH); one of another user's (EPERM) is running. */
/** Whether process `pid` runs (one this user may not signal runs too). */
export function pidRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

/** Targets whose directory this process has already looked through for stale temp files: a
 *  long-lived writer (the MCP server saves its replay memory after every read) looks once. */
const swept = new Set<string>();

/** Removes the temp files of `path` that dead writers left: only names writeAtomic0600 makes, only
 *  regular files of this user, older than STALE_TEMP_MS, whose pid is not running. Best effort: a
 *  directory that cannot be listed or a file that cannot be removed is left as it is. Once per
 *  target per process. */
function removeStaleTemps(path: string): void {
  if (swept.has(path)) return;
  swept.add(path);
  const dir = dirname(path);
  const prefix = tempPrefix(path);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith(TEMP_SUFFIX)) continue;
    const pid = TEMP_MIDDLE.exec(name.slice(prefix.length, -TEMP_SUFFIX.length))?.[1];
    if (pid === undefined || pidRunning(Number(pid))) continue;
    const file = join(dir, name);
    try {
      const st = lstatSync(file);
      if (!st.isFile() || st.uid !== process.getuid?.() || Date.now() - st.mtimeMs < STALE_TEMP_MS) continue;
      unlinkSync(file);
    } catch {
      // Removed by another writer meanwhile, or not ours to remove.
    }
  }
}

/** Temp file created exclusively (O_EXCL: no following a planted link) with mode 0600, fsync,
 *  rename over the target. The mode is set again on the descriptor in case the umask removed
 *  owner bits; it is never wider than 0600 at any moment. Stale temp files of the same target
 *  (removeStaleTemps) are removed first. */
function writeAtomic0600(path: string, data: string | Uint8Array): void {
  removeStaleTemps(path);
  const tmp = join(dirname(path), `${tempPrefix(path)}${process.pid}.${randomBytes(6).toString("hex")}${TEMP_SUFFIX}`);
  const fd = openSync(tmp, "wx", 0o600);
  try {
    try {
      fchmodSync(fd, 0o600);
      writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    if (existsSync(tmp)) unlinkSync(tmp);
    throw err;
  }
}

/** Reads one of claudemesh's own files; null if nothing is there. Throws LocalFileError if others
 *  can read it (`holds`: what is at stake), if it is a directory, or if it cannot be read (`what`
 *  the file is, for the message). */
export function readPrivateFile(path: string, opts: { holds?: string; what?: string } = {}): string | null {
  const ctx = { what: opts.what, fix: { EISDIR: moveAsideFix(path) } };
  // One open, read and fstat: the mode checked is that of the file read, looked up once.
  const fd = onFile(path, "read", () => openIfAny(path), ctx);
  if (fd === null) return null;
  try {
    // Read before the mode is checked: a directory is then called a directory, not "readable by
    // other users" with a chmod that would not help.
    const text = onFile(path, "read", () => readFileSync(fd, "utf8"), ctx);
    assertPrivate(path, onFile(path, "read", () => fstatSync(fd), ctx), opts.holds);
    return text;
  } finally {
    closeSync(fd);
  }
}

/** A descriptor of `path` open for reading; null when nothing is there. */
function openIfAny(path: string): number | null {
  try {
    return openSync(path, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

/** readPrivateFile, parsed as JSON: `{ value }`, or null if nothing is there. Throws as
 *  readPrivateFile does, and `damaged(problem)` for text that is empty or not JSON: `problem` is a
 *  phrase to follow the file's name ("is empty", "is not valid JSON (line 3, column 1: …)"), and
 *  the caller names the file and says what to do in its own words. */
export function readPrivateJson(path: string, opts: { holds?: string; what?: string; damaged: (problem: string) => LocalFileError }): { value: unknown } | null {
  const text = readPrivateFile(path, opts);
  if (text === null) return null;
  const parsed = parseJsonText(text);
  if (!parsed.ok) throw opts.damaged(parsed.problem);
  return { value: parsed.value };
}
