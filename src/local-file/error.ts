// A local file or directory claudemesh cannot use, in words a user can act on: what the path is,
// what is wrong with it and the next step, never a raw errno text ("EISDIR: illegal operation on a
// directory, read"). One mapping from Node's fs errors for every module that touches files (the
// CLI's config, a backup the user names, `serve --config`, the broker's data directory); the CLI
// prints LocalFileError as one line and its fix, and exits 5 (refused by local state).
import { statSync, type Stats } from "node:fs";
import { dirname, resolve, sep } from "node:path";

export class LocalFileError extends Error {
  override readonly name = "LocalFileError";
  constructor(
    message: string,
    /** The next step, shown as `fix:`; null when there is nothing better than the message. */
    readonly fix: string | null = null,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** What claudemesh was doing with the path: reading it, writing (creating or replacing) the file,
 *  or creating the directory (and its missing parents). */
export type FileOp = "read" | "write" | "create";

export type FileContext = {
  /** What the path is, for the message ("the claudemesh config"); omitted: the path alone. */
  what?: string;
  /** A fix for a given error code (EISDIR, ENOTDIR, EACCES, …) in place of the general one. */
  fix?: Partial<Record<string, string>>;
};

type Errno = Error & { code: string; path?: string; syscall?: string };

/** `err` when it is a Node file system error (a string code like ENOENT), else its cause when
 *  that is one (a wrapper such as SQLite's or our own kept it), else null. */
export function errnoOf(err: unknown): Errno | null {
  const is = (e: unknown): e is Errno => e instanceof Error && typeof (e as Errno).code === "string" && /^E[A-Z0-9]+$/.test((e as Errno).code);
  if (is(err)) return err;
  const cause = (err as { cause?: unknown } | null)?.cause;
  return is(cause) ? cause : null;
}

const VERB: Record<FileOp, string> = { read: "read", write: "write", create: "create" };

/** `err` as a LocalFileError about `path` while doing `op`, when it is (or wraps) a file system
 *  error; any other error unchanged, so `throw fileError(err, …)` never hides a bug. */
export function fileError(err: unknown, path: string, op: FileOp, ctx: FileContext = {}): unknown {
  const errno = errnoOf(err);
  if (!errno) return err;
  const at = resolve(path);
  const named = capital(ctx.what ? `${ctx.what} ${at}` : at);
  const cannot = `Cannot ${VERB[op]} ${ctx.what ? `${ctx.what} ${at}` : op === "create" ? `the directory ${at}` : at}`;
  const said = describe(errno.code, at, op, named, cannot);
  return new LocalFileError(said.message, ctx.fix?.[errno.code] ?? said.fix, { cause: errno });
}

/** Runs `work`; a file system error it throws becomes fileError(err, path, op, ctx). */
export function onFile<T>(path: string, op: FileOp, work: () => T, ctx: FileContext = {}): T {
  try {
    return work();
  } catch (err) {
    throw fileError(err, path, op, ctx);
  }
}

/** stat of `path`, or null when nothing is there. Unlike existsSync, which answers false for a
 *  path it may not look at or that runs through a file, every other failure throws fileError. */
export function statIfAny(path: string, ctx: FileContext = {}): Stats | null {
  return onFile(path, "read", () => statSync(path, { throwIfNoEntry: false }) ?? null, ctx);
}

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** `named`: the path with what it is ("The audit checkpoint /x"); `cannot`: "Cannot read …". */
function describe(code: string, at: string, op: FileOp, named: string, cannot: string): { message: string; fix: string | null } {
  switch (code) {
    case "ENOENT": {
      if (op === "read") return { message: `${named} does not exist.`, fix: "check the path" };
      // What mkdir -p could not create; the path itself when its directory takes no new names
      // (/proc, /sys) or went away meanwhile.
      const missing = firstMissing(at);
      const why = missing === at ? `nothing can be created in ${dirname(at)}` : `${missing} does not exist and cannot be created`;
      return { message: `${cannot}: ${why}.`, fix: "choose a path in a directory you can write to" };
    }
    case "ENOTDIR": {
      const file = fileOnTheWay(at);
      return file
        ? { message: `${cannot}: ${file} is a file, not a directory.`, fix: `choose a path that does not go through the file ${file}` }
        : { message: `${cannot}: a part of the path is not a directory.`, fix: "check the path" };
    }
    case "EEXIST":
      // mkdir over something that is not a directory (mkdir -p accepts a directory).
      if (op === "create" && kindAt(at) !== "directory") return { message: `${named} is a file, not a directory.`, fix: `move the file ${at} away, or choose another path` };
      return { message: `${cannot}: ${at} already exists.`, fix: "choose another path" };
    case "EISDIR":
      return { message: `${named} is a directory, not a file.`, fix: "give the path of a file, not a directory" };
    case "EACCES":
    case "EPERM":
      return permissionDenied(at, op, cannot);
    case "EROFS":
      return { message: `${cannot}: the file system is read-only.`, fix: "choose a path on a writable file system" };
    case "ENOSPC":
      return { message: `${cannot}: the disk is full.`, fix: "free some space, then run this again" };
    case "EDQUOT":
      return { message: `${cannot}: your disk quota is used up.`, fix: "free some space or raise the quota, then run this again" };
    case "ELOOP":
      return { message: `${cannot}: too many levels of symbolic links (a link that leads back to itself?).`, fix: "check the links on the path (ls -l)" };
    case "ENAMETOOLONG":
      return { message: `${cannot}: the path or one of its names is too long.`, fix: "choose a shorter path" };
    case "EMFILE":
    case "ENFILE":
      return { message: `${cannot}: too many files are open.`, fix: "close other programs, or raise the limit (ulimit -n), then run this again" };
    case "EIO":
      return { message: `${cannot}: the disk reported an I/O error.`, fix: "check the disk (dmesg, SMART), then run this again" };
    default:
      return { message: `${cannot} (${code}).`, fix: null };
  }
}

/** A file's permission bits as `ls -l` and chmod read them in octal: "600", "000" (never "0"). */
export const modeOf = (st: Pick<Stats, "mode">): string => (st.mode & 0o777).toString(8).padStart(3, "0");

/** Who may do what where the refusal came from (refusedBy): the file for a read, the directory a
 *  write or a new directory goes into (an atomic write creates a temp file there and renames it),
 *  or a file written in place whose mode forbids it. When this
 *  user owns it and its mode lacks the access needed, the mode is the reason, and the chmod that
 *  gives the owner access (claudemesh's own files are private: 600, directories 700) is the fix.
 *  When its mode allows it, the mode is not the reason, and a chmod would not help. */
function permissionDenied(at: string, op: FileOp, cannot: string): { message: string; fix: string } {
  const me = process.getuid?.();
  const where = refusedBy(at, op);
  const mine = me !== 0 && where !== null && where.st.uid === me;
  const facts =
    me === 0 ? "the file system refuses it even to root" : !where ? null : mine ? `${where.path} is yours, mode ${modeOf(where.st)}` : `${where.path} belongs to uid ${where.st.uid}, mode ${modeOf(where.st)}; claudemesh runs as uid ${me}`;
  const message = `${cannot}: permission denied${facts ? ` (${facts})` : ""}.`;
  if (mine && !allows(where, op, at)) return { message, fix: `chmod ${where.st.isDirectory() ? 700 : 600} ${where.path}` };
  if (mine) return { message, fix: `the mode of ${where.path} is not the reason: look for an immutable flag (lsattr -d ${where.path}), an ACL (getfacl ${where.path}) or a security policy such as SELinux or AppArmor` };
  if (op === "read") return { message, fix: `run claudemesh as the user that owns ${where?.path ?? at}, or give this user read access to it` };
  return { message, fix: `choose a place you can write to, or get write access to ${where?.path ?? dirname(at)}` };
}

/** Where a refusal of `op` on `at` most likely comes from: the file for a read; for a write, the
 *  directory it goes into, unless that allows it and `at` is a file whose own bits lack write (a
 *  write in place: the broker's database, an append). */
function refusedBy(at: string, op: FileOp): { path: string; st: Stats } | null {
  if (op !== "write") return nearestThere(at);
  const dir = nearestThere(dirname(at));
  let file: { path: string; st: Stats } | null = null;
  try {
    const st = statSync(at, { throwIfNoEntry: false });
    if (st?.isFile()) file = { path: at, st };
  } catch {} // a directory on the way that may not be searched: that directory is the reason
  return file && dir && allows(dir, op, at) && !allows(file, op, at) ? file : dir;
}

/** Whether the owner's bits of `where` give what `op` on `at` needs there: a file read needs r (a
 *  write, w); a directory read needs r+x, one only passed through x, and one a write or a new
 *  directory goes into w+x. */
function allows(where: { path: string; st: Stats }, op: FileOp, at: string): boolean {
  const need = !where.st.isDirectory() ? (op === "read" ? 0o400 : 0o200) : op !== "read" ? 0o300 : where.path === at ? 0o500 : 0o100;
  return (where.st.mode & need) === need;
}

/** The path itself or its nearest ancestor that can be looked at, with its stat. */
function nearestThere(path: string): { path: string; st: Stats } | null {
  for (let p = path; ; p = dirname(p)) {
    try {
      return { path: p, st: statSync(p) };
    } catch {
      if (dirname(p) === p) return null;
    }
  }
}

/** The first ancestor of `path` (from the root down) that is not there. */
function firstMissing(path: string): string {
  let missing = path;
  for (let p = path; dirname(p) !== p; p = dirname(p)) if (kindAt(p) === null) missing = p;
  return missing;
}

/** The first ancestor of `path` (from the root down) that exists but is not a directory. */
function fileOnTheWay(path: string): string | null {
  const parts = path.split(sep).filter(Boolean);
  for (let i = 1; i < parts.length; i++) {
    const p = sep + parts.slice(0, i).join(sep);
    const kind = kindAt(p);
    if (kind === null) return null;
    if (kind !== "directory") return p;
  }
  return null;
}

function kindAt(path: string): "directory" | "other" | null {
  try {
    return statSync(path).isDirectory() ? "directory" : "other";
  } catch {
    return null;
  }
}

const READ_CALLS = new Set(["open", "read", "stat", "lstat", "fstat", "access", "scandir", "readlink", "realpath"]);

/** For an edge (the CLI's error printer): a file system error that no call site put in words, said
 *  in words from the path and system call it carries; null for anything else. Call sites should
 *  use fileError with what the file is; this keeps a raw errno text off the screen when one did not. */
export function unworded(err: unknown): LocalFileError | null {
  const errno = errnoOf(err);
  if (!errno || typeof errno.path !== "string" || err instanceof LocalFileError) return null;
  const op: FileOp = errno.syscall === "mkdir" ? "create" : READ_CALLS.has(errno.syscall ?? "") ? "read" : "write";
  return fileError(errno, errno.path, op) as LocalFileError;
}
