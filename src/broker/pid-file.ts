// <dataDir>/claudemesh.pid: present (0600, our PID) while `serve` runs on that data directory, so
// that maintenance commands (`admin restore`), a second `serve` and people can tell who holds it.
// The directory's lock (store/sqlite/dir-lock.ts) is the truth about whether it is in use: the PID
// file is read only to name the holder of a lock known to be held, so a file left behind by a
// crash never keeps a broker out, whatever process its PID now belongs to.
import { chmodSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dataDirLocked, lockDataDir } from "../store/sqlite/dir-lock.ts";

export const PID_FILE = "claudemesh.pid";

/** The PID the PID file names if that process is alive and, where /proc can tell, running
 *  `serve`, else null. Names a holder; never proves one: see servingBroker. */
export function runningBroker(dataDir: string, self = process.pid): number | null {
  let pid: number;
  try {
    pid = Number(readFileSync(join(dataDir, PID_FILE), "utf8").trim());
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0 || pid === self) return null;
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to another user (a system service seen by an operator).
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return null;
  }
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return argv.includes("serve") ? pid : null;
  } catch {
    return pid; // no /proc (macOS) or not readable: trust the signal probe
  }
}

/** null when nothing serves `dataDir` (its lock is free, whatever the PID file says), else the
 *  holder's PID from the PID file, or 0 when that names no live `serve`. */
export function servingBroker(dataDir: string): number | null {
  return dataDirLocked(dataDir) ? (runningBroker(dataDir) ?? 0) : null;
}

/** Claims `dataDir` for this process: takes its lock (creating the directory 0700), then writes
 *  our PID (0600), replacing any file a crashed holder left, and returns null. When the lock is
 *  held, returns the holder's PID from the PID file, or 0 when that names no live `serve`. */
export function claimPidFile(dataDir: string): number | null {
  if (!lockDataDir(dataDir)) return runningBroker(dataDir) ?? 0;
  const path = join(dataDir, PID_FILE);
  writeFileSync(path, `${process.pid}\n`, { mode: 0o600 });
  chmodSync(path, 0o600); // the mode above applies only when the file is created
  return null;
}

/** Removes the PID file if it is still ours. Never throws. */
export function releasePidFile(dataDir: string): void {
  const path = join(dataDir, PID_FILE);
  try {
    if (Number(readFileSync(path, "utf8").trim()) === process.pid) rmSync(path, { force: true });
  } catch {
    // already gone
  }
}
