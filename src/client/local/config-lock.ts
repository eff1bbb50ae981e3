// Serialises changes to config.json across processes. Every Claude Code session runs its own MCP
// server, and each one writes config.json when it learns keys or is refused as removed, often at
// the same moment (a rotation reaches every session at once), while a command may be saving a
// new mesh. Each change is read–modify–write (updateConfig); without a lock, two writers that read
// the same file keep only the last one's change. The lock is a file made with O_EXCL holding its
// owner's PID: held for the few milliseconds a change takes, and removed when its owner is no
// longer running (a writer killed mid-change), by one waiter at a time. A process that serves
// others while it waits (the MCP server: Claude Code's tool calls, its broker connection) waits on
// its event loop; a one-shot command may block. bun:sqlite's fcntl locks, which the kernel drops
// on death, belong to src/store (DESIGN §5), and Node's fs has no flock. The same lock guards
// other files that several processes change (withFileLock: the machine's replay memory, the
// message log), each with a lock file of its own.
import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { LocalFileError, onFile } from "../../local-file/error.ts";
import { pidRunning } from "./files.ts";

export const CONFIG_LOCK = "config.lock";
/** How long a change waits for another process's. Changes take milliseconds; a holder that keeps
 *  it this long is stopped (SIGSTOP, a debugger) rather than busy. */
export const LOCK_WAIT_MS = 5_000;
/** A lock file with no PID yet is its creator between open and write, unless older than this. */
const UNWRITTEN_GRACE_MS = 1_000;

/** How often a waiter looks at the lock again. */
const POLL_MS = 2;

/** Told, once per change that has to wait, which process holds the lock (for a log line). */
export type OnLockWait = (holder: number) => void;

/** Runs `change` while holding `dir`'s config lock; `dir` must exist, and `change` must not
 *  change the config itself. Waits by blocking the thread: for a command that does one thing and
 *  exits, and for a follower's key save, whose ack must wait for it (src/cli/mesh-io.ts). Code
 *  that serves others meanwhile (the MCP server) uses withConfigLockAsync. Throws LocalFileError
 *  after LOCK_WAIT_MS behind a holder that is still running; nothing was changed then. */
export function withConfigLock<T>(dir: string, change: () => T, onWait?: OnLockWait): T {
  return withFileLock(configLock(dir), change, onWait);
}

/** withConfigLock, waiting on the event loop: while another process holds the lock (up to
 *  LOCK_WAIT_MS behind a stopped one), everything else this process does goes on. `change` itself
 *  runs synchronously, so the lock is never held across an await. */
export async function withConfigLockAsync<T>(dir: string, change: () => T, onWait?: OnLockWait): Promise<T> {
  return withFileLockAsync(configLock(dir), change, onWait);
}

/** A lock file (`path`) and the file it guards (`guards`, named in the timeout's message). The
 *  lock's directory must exist. */
export type FileLock = { path: string; guards: string };

const configLock = (dir: string): FileLock => ({ path: join(dir, CONFIG_LOCK), guards: join(dir, "config.json") });

/** withConfigLock for another file that several processes change: the same waits, takeover of a
 *  dead holder's lock and LocalFileError after LOCK_WAIT_MS. */
export function withFileLock<T>(lock: FileLock, change: () => T, onWait?: OnLockWait): T {
  for (const _ of waits(lock, onWait)) Bun.sleepSync(POLL_MS);
  return holding(lock.path, change);
}

/** withFileLock, waiting on the event loop (as withConfigLockAsync). */
export async function withFileLockAsync<T>(lock: FileLock, change: () => T, onWait?: OnLockWait): Promise<T> {
  for (const _ of waits(lock, onWait)) await Bun.sleep(POLL_MS);
  return holding(lock.path, change);
}

/** Takes the lock: yields each time the caller must wait POLL_MS before trying again, and
 *  returns once this process holds it. A stale lock is taken over; after LOCK_WAIT_MS behind a
 *  running holder it throws LocalFileError. */
function* waits({ path, guards }: FileLock, onWait?: OnLockWait): Generator<void, void> {
  const deadline = performance.now() + LOCK_WAIT_MS;
  let told = false;
  while (!tryTake(path)) {
    const holder = holderOf(path);
    if (holder === "gone") continue;
    if (typeof holder === "object") {
      takeOverStale(path, holder.stale);
      continue;
    }
    if (typeof holder === "number" && !told) {
      told = true;
      onWait?.(holder);
    }
    if (performance.now() > deadline && holder !== "starting") {
      throw new LocalFileError(
        `${guards} has been locked by process ${holder} for over ${LOCK_WAIT_MS / 1000} s, so this change was not made.`,
        `if process ${holder} is not a claudemesh that is still running, remove ${path} and run this again`,
      );
    }
    yield;
  }
}

/** Runs `change` with the lock taken, and releases it. */
function holding<T>(path: string, change: () => T): T {
  try {
    return change();
  } finally {
    rmSync(path, { force: true });
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
    onFile(path, "write", () => writeSync(fd, String(process.pid)));
  } catch (err) {
    rmSync(path, { force: true }); // a full disk: no empty lock left for others to wait on
    throw err;
  } finally {
    closeSync(fd);
  }
  return true;
}

/** The holder's PID while it runs; "starting" while its creator has not written its PID yet;
 *  `{ stale }` (the file's text) when it died holding the lock; "gone" when it was released. */
function holderOf(path: string): number | "starting" | { stale: string } | "gone" {
  const text = readIfAny(path);
  if (text === null) return "gone";
  const pid = Number(text);
  if (text === "" || !Number.isSafeInteger(pid) || pid <= 0) return ageOf(path) > UNWRITTEN_GRACE_MS ? { stale: text } : "starting";
  // This process never holds the lock while it waits (a change runs synchronously, and no worker
  // thread writes the config), so its own PID was left by an earlier process that had it: in a
  // container claudemesh often gets the same PID every time.
  if (pid === process.pid) return { stale: text };
  return pidRunning(pid) ? pid : { stale: text };
}

/** Removes the lock of `dead`, a holder that died with it. Takeovers take turns through a guard
 *  file made with O_EXCL, and under it the lock is removed only if it still names `dead`: no
 *  holder can have made it meanwhile (O_EXCL), and no other takeover can have removed it, so a
 *  live holder's lock is never touched. A guard left by a waiter that died holding it (a few
 *  microseconds' window) is removed once it is older than a second. */
function takeOverStale(path: string, dead: string): void {
  const guard = `${path}.takeover`;
  if (!tryTake(guard)) {
    if (ageOf(guard) > UNWRITTEN_GRACE_MS) rmSync(guard, { force: true });
    return;
  }
  try {
    if (readIfAny(path) === dead) rmSync(path, { force: true });
  } finally {
    rmSync(guard, { force: true });
  }
}

function readIfAny(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

function ageOf(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}
