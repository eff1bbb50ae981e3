// Who holds a data directory. The lock on <dataDir>/claudemesh.lock (store/sqlite/dir-lock.ts) is
// the truth: a directory is in use exactly when that lock is held, and a PID file never keeps
// anyone out. The PID files only name the holder, for messages and people:
// - <dataDir>/claudemesh.pid: present (0600, its PID) while `serve` runs on that directory;
// - <dataDir>/claudemesh.restore.pid: present while `admin restore` replaces its database.
// A file left behind by a crash is replaced or removed by the next holder; while the lock is held,
// one naming a dead process, or a process not running the file's command, is ignored. One
// exception: brokers from before the lock (the first ~58 commits, before 999dd3a) wrote
// claudemesh.pid and took no lock, so a free lock with a PID file naming a live `claudemesh serve`
// is such a broker still serving, and the directory is refused (unlockedBroker). A symbolic
// link (or anything but a file) where a PID file belongs is refused, never written or read
// through (store/sqlite/own-file.ts): read through, it named whatever the linked file held, and a
// FIFO there made the reader wait forever.
import { closeSync, existsSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, writeSync } from "node:fs";
import { basename, join } from "node:path";
import { LOCK_FILE } from "../store/sqlite/dir-lock.ts";
import { NotOurFileError, openOwnFile, readOwnFile } from "../store/sqlite/own-file.ts";
import { giveToDirOwner } from "../local-file/owner.ts";
import { removeMadeDirs } from "../local-file/dirs.ts";
import { heldLinkedDatabase, lockDatabase, unlockDatabase, type LinkedDatabase } from "./database-lock.ts";

/** The PID files that name a data directory's holder. */
export const PID_FILE = "claudemesh.pid";
export const RESTORE_PID_FILE = "claudemesh.restore.pid";

/** Whether anything could hold `dataDir`: only a directory with a lock file can have a holder, so
 *  without one a check need not create the directory to know it is free. */
export const mayBeHeld = (dataDir: string) => existsSync(join(dataDir, LOCK_FILE));

/** What holds a data directory's lock: a broker (`serve`) or `admin restore`, with its PID, or 0
 *  when no PID file names a live process running that command; or, for a `claudemesh.db` that
 *  links to a database elsewhere, a broker or restore of another data directory holding that
 *  database's lock (database-lock.ts), which no PID file here names; or ("unlocked") a broker
 *  from before the lock that serves the directory without holding it, with its command line. */
export type Holder = { kind: Claimant; pid: number } | ({ kind: "linked" } & LinkedDatabase) | { kind: "unlocked"; pid: number; command: string };

/** What claims a data directory. */
type Claimant = "broker" | "restore";

const FILES = { broker: PID_FILE, restore: RESTORE_PID_FILE } as const;
const COMMAND = { broker: "serve", restore: "restore" } as const;

/** Bytes read from a PID file: a PID and a newline, with room to spare. */
const PID_FILE_BYTES = 64;

/** The number the PID file `file` holds (NaN for anything else), or null when it is missing or
 *  cannot be read. Throws NotOurFileError for a link or anything but a regular file there. */
function pidIn(file: string): number | null {
  let text: string | null;
  try {
    text = readOwnFile(file, PID_FILE_BYTES);
  } catch (err) {
    if (err instanceof NotOurFileError) throw err;
    return null;
  }
  return text === null ? null : Number(text.trim());
}

/** Whether `pid` (a number read from a PID file) is another process that is alive. */
function otherLiveProcess(pid: number | null): pid is number {
  if (pid === null || !Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to another user (a system service seen by an operator).
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  return true;
}

/** The argv of process `pid` from /proc, or null when it cannot be read (no /proc: macOS). */
function argvOf(pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((a) => a !== "");
  } catch {
    return null;
  }
}

/** The PID `file` names if that process is alive and, where /proc can tell, its argv contains
 *  `command`; else null. Throws NotOurFileError as pidIn does. */
function livePid(file: string, command: string): number | null {
  const pid = pidIn(file);
  if (!otherLiveProcess(pid)) return null;
  const argv = argvOf(pid);
  return argv === null || argv.includes(command) ? pid : null; // no /proc: trust the signal probe
}

/** Whether `argv` runs claudemesh's `serve`: the word `serve` after the program, which is a
 *  claudemesh executable (`claudemesh`, `claudemesh-linux-x64`, …) or Bun running claudemesh's
 *  source (`bun run …/main.ts serve`). Any other program with `serve` among its arguments (a PID
 *  reused after a reboot) is not. */
function isClaudemeshServe(argv: readonly string[]): boolean {
  const at = argv.indexOf("serve");
  if (at < 1) return false;
  const program = basename(argv[0]!);
  const before = argv.slice(1, at);
  return program.startsWith("claudemesh") || (program.startsWith("bun") && before.some((a) => a.endsWith("main.ts") || basename(a).startsWith("claudemesh")));
}

/** A broker from before the data directory lock (999dd3a) serving `dataDir`: it wrote its PID to
 *  claudemesh.pid and holds no lock, so the lock alone would let a second broker migrate and serve
 *  the same database beside it. Asked only with the lock free: a PID file naming a live process
 *  whose command line /proc shows to be a claudemesh serve. Without /proc, or for any other
 *  process, or for a PID file that cannot be read as ours, null: a stale file keeps nobody out. */
function unlockedBroker(dataDir: string): Holder | null {
  let pid: number | null;
  try {
    pid = pidIn(join(dataDir, PID_FILE));
  } catch {
    return null; // not a file claudemesh made: the claim words it (writePid)
  }
  if (!otherLiveProcess(pid)) return null;
  const argv = argvOf(pid);
  if (argv === null || !isClaudemeshServe(argv) || servesElsewhere(pid, dataDir)) return null;
  return { kind: "unlocked", pid, command: argv.join(" ") };
}

/** Whether process `pid` is seen, in /proc/<pid>/fd, to hold files open and none of them inside
 *  `dataDir`: a broker of another directory that reused the PID of a crashed one of this (two
 *  brokers on one host after a power loss). Its open database would be among them. When its
 *  descriptors cannot be read (another user's process), false: the directory is refused, as a
 *  second broker on one database is the worse mistake. */
function servesElsewhere(pid: number, dataDir: string): boolean {
  let links: string[];
  let dir: string;
  try {
    dir = realpathSync(dataDir);
    links = readdirSync(`/proc/${pid}/fd`).map((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return ""; // closed meanwhile
      }
    });
  } catch {
    return false;
  }
  return links.length > 0 && !links.some((l) => l.startsWith(`${dir}/`));
}

/** Names the holder of a lock known to be held: a live restore its PID file names, else a broker
 *  (PID 0 when no PID file names one). Throws NotOurFileError for a link or anything but a file
 *  where a PID file belongs (only an operator can remove it). */
function holderOf(dataDir: string): Holder {
  const restore = livePid(join(dataDir, RESTORE_PID_FILE), COMMAND.restore);
  if (restore !== null) return { kind: "restore", pid: restore };
  return { kind: "broker", pid: livePid(join(dataDir, PID_FILE), COMMAND.broker) ?? 0 };
}

/** Writes our PID to `path` (0600, set through the descriptor). Throws NotOurFileError, leaving
 *  it and what it points to as they are, for a symbolic link or anything but a file there. On any
 *  other failure removes whatever it left (never an empty file) and throws the file system's
 *  error, which names the file (the caller words it: data-dir-errors.ts, a full disk, a directory
 *  it may not write in). */
function writePid(path: string): void {
  try {
    const fd = openOwnFile(path, { truncate: true });
    try {
      writeSync(fd, `${process.pid}\n`);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if (err instanceof NotOurFileError) throw err;
    try {
      rmSync(path, { force: true });
    } catch {
      // nothing more to do: the lock, not this file, keeps others out
    }
    throw err;
  }
}

/** Claims `dataDir` for this process as `kind`: takes its lock (creating the directory 0700 if
 *  needed) and the lock of the database its claudemesh.db links to (lockDatabase), and writes our
 *  PID to that kind's PID file, replacing any file a dead holder left (and removing the other
 *  kind's: with the lock free, whatever it names is not holding anything).
 *  `made` (restore, check): the directories the caller made for it (local-file/dirs.ts makeDirs),
 *  removed again if the claim fails. As root, the lock and PID files take the directory's owner
 *  (owner.ts), and so do the directories in `made`. Returns null when claimed, or the holder when
 *  a lock is held (kind "linked" for the linked database's). Throws (the locks released)
 *  LockFileError when a lock file cannot be used, and the file system's error otherwise;
 *  NotOurFileError, leaving it there, for a link or anything but a file where a PID file it reads
 *  (lock held) or writes belongs. */
export function claimDataDir(dataDir: string, kind: Claimant = "broker", { made = [] }: { made?: readonly string[] } = {}): Holder | null {
  let busy: ReturnType<typeof lockDatabase>;
  try {
    busy = lockDatabase(dataDir);
  } catch (err) {
    removeMadeDirs(made); // as far as they are empty: a lock file made but not usable stays
    throw err;
  }
  if (busy === "directory") return holderOf(dataDir);
  if (busy) return { kind: "linked", ...busy };
  const unlocked = unlockedBroker(dataDir);
  if (unlocked) {
    releaseDataDir(dataDir, kind, made); // its PID file is not ours, and stays
    return unlocked;
  }
  try {
    rmSync(join(dataDir, FILES[kind === "broker" ? "restore" : "broker"]), { force: true });
    writePid(join(dataDir, FILES[kind]));
    // Run as root (a check or a restore): a lock file or PID file root keeps would stop the
    // directory's owner, the broker's user, from taking the lock next time. A data directory made
    // just now in another user's directory is that user's too (not for `serve`, which as root
    // must not hand its own directory to someone else while it keeps making files in it).
    giveToDirOwner([...made, join(dataDir, LOCK_FILE), join(dataDir, FILES[kind])]);
    // The linked database's lock too, though it is in another directory (a mount point is often
    // root's): the broker's user must open it next time.
    const linked = heldLinkedDatabase(dataDir);
    if (linked) giveToDirOwner([linked.lock], dataDir);
  } catch (err) {
    releaseDataDir(dataDir, kind, made);
    throw err;
  }
  return null;
}

/** Removes `kind`'s PID file if it is still ours (a link or anything but a file there is not).
 *  Never throws. */
export function releasePidFile(dataDir: string, kind: Claimant = "broker"): void {
  const path = join(dataDir, FILES[kind]);
  try {
    if (pidIn(path) === process.pid) rmSync(path, { force: true });
  } catch {
    // already gone
  }
}

/** Undoes claimDataDir: removes our PID file, then releases the lock. With `made` (what the
 *  caller made for the directory, for a command that failed), first removes the lock file while
 *  still holding it, when the directory holds nothing else, and after the release the directories
 *  in `made` as far as they are empty; a directory that holds anything else keeps it. Never throws
 *  for the removal: what cannot be removed stays, as it would have without it. */
export function releaseDataDir(dataDir: string, kind: Claimant, made: readonly string[] = []): void {
  releasePidFile(dataDir, kind);
  let discard = made.length > 0;
  try {
    if (discard && readdirSync(dataDir).every((f) => f === LOCK_FILE)) rmSync(join(dataDir, LOCK_FILE), { force: true });
    else discard = false;
  } catch {
    discard = false;
  }
  unlockDatabase(dataDir);
  if (discard) removeMadeDirs(made);
}

/** "a broker (PID 42) is serving DIR" / "an admin restore (PID 42) is replacing the database in
 *  DIR" / "a claudemesh broker older than the data directory lock (PID 42: …) is serving DIR …" /
 *  "another broker or admin restore is using the database D through a link (…)": who holds
 *  it, for messages. */
export function describeHolder(h: Holder, dataDir: string): string {
  if (h.kind === "unlocked") {
    return `a claudemesh broker older than the data directory lock (PID ${h.pid}: ${h.command}) is serving ${dataDir} without holding ${LOCK_FILE}`;
  }
  if (h.kind === "linked") return `another broker or admin restore is using the database ${h.database} through a link (${h.link} links to it, and ${h.lock} is locked)`;
  const pid = h.pid > 0 ? ` (PID ${h.pid})` : "";
  return h.kind === "restore" ? `an admin restore${pid} is replacing the database in ${dataDir}` : `a broker${pid} is serving ${dataDir}`;
}
