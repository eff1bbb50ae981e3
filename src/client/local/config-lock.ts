// Serialises changes to config.json across processes. Every Claude Code session runs its own MCP
// server, and each one writes config.json when it learns keys or is refused as removed, often at
// the same moment (a rotation reaches every session at once), while a command may be saving a
// new mesh. Each change is read–modify–write (updateConfig); without a lock, two writers that read
// the same file keep only the last one's change. The lock is a file made with O_EXCL holding its
// owner's PID: held for the few milliseconds a change takes, and taken over when its owner is no
// longer running (a writer killed mid-change). bun:sqlite's fcntl locks, which the kernel drops on
// death, belong to src/store (DESIGN §5), and Node's fs has no flock.
import { closeSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { LocalFileError, onFile } from "../../local-file/error.ts";

export const CONFIG_LOCK = "config.lock";
/** How long a change waits for another process's. Changes take milliseconds; a holder that keeps
 *  it this long is stopped (SIGSTOP, a debugger) rather than busy. */
export const LOCK_WAIT_MS = 5_000;
/** A lock file with no PID yet is its creator between open and write, unless older than this. */
const UNWRITTEN_GRACE_MS = 1_000;

/** Runs `change` while holding `dir`'s config lock; `dir` must exist. */
export function withConfigLock<T>(dir: string, change: () => T): T {
  const path = join(dir, CONFIG_LOCK);
  const deadline = performance.now() + LOCK_WAIT_MS;
  while (!tryTake(path)) {
    const holder = holderOf(path);
    if (holder === "gone") continue;
    if (holder === "stale") {
      takeOverStale(path);
      continue;
    }
    if (performance.now() > deadline && holder !== "starting") {
      throw new LocalFileError(
        `${join(dir, "config.json")} has been locked by process ${holder} for over ${LOCK_WAIT_MS / 1000} s, so this change was not made.`,
        `if process ${holder} is not a claudemesh that is still running, remove ${path} and run this again`,
      );
    }
    Bun.sleepSync(2);
  }
  try {
    return change();
  } finally {
    // Only this process's own lock: after a takeover race the file may be another's.
    if (holderOf(path) === process.pid) rmSync(path, { force: true });
  }
}

/** One attempt: true when this process now holds the lock. */
function tryTake(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, "wx", 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    return onFile(path, "write", () => {
      throw err;
    });
  }
  try {
    writeSync(fd, String(process.pid));
  } finally {
    closeSync(fd);
  }
  return true;
}

/** The holder's PID while it runs; "starting" while its creator has not written its PID yet;
 *  "stale" when it died holding the lock; "gone" when the lock was released meanwhile. */
function holderOf(path: string): number | "starting" | "stale" | "gone" {
  let text: string;
  let age: number;
  try {
    text = readFileSync(path, "utf8");
    age = Date.now() - statSync(path).mtimeMs;
  } catch {
    return "gone";
  }
  const pid = Number(text);
  if (text === "" || !Number.isSafeInteger(pid) || pid <= 0) return age > UNWRITTEN_GRACE_MS ? "stale" : "starting";
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM" ? pid : "stale";
  }
}

/** Removes a dead holder's lock. Renamed aside first, then checked: if another waiter took the
 *  lock over between our look and the rename, the file renamed is that live holder's, and it is
 *  put back (a rename onto a path made meanwhile would replace a newer lock, so only if absent). */
function takeOverStale(path: string): void {
  const aside = `${path}.${process.pid}.stale`;
  try {
    renameSync(path, aside);
  } catch {
    return; // released or taken over by another waiter: look again
  }
  if (holderOf(aside) === "stale") rmSync(aside, { force: true });
  else if (tryTake(path)) renameSync(aside, path);
  else rmSync(aside, { force: true });
}
