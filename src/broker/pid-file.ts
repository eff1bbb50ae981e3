// <dataDir>/claudemesh.pid: present (0600, our PID) while `serve` runs on that data directory, so
// that maintenance commands (`admin restore`) and a second `serve` can tell the directory is in
// use. A file left behind by a crash names a dead process and is treated as absent.
import { chmodSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dataDirLocked, lockDataDir } from "../store/sqlite/dir-lock.ts";

export const PID_FILE = "claudemesh.pid";

/** The PID of a live broker serving `dataDir`, or null. A PID that is alive but, where /proc can
 *  tell, is not running `serve` (the PID was reused after a crash) counts as absent. */
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

/** A live broker's PID for `dataDir`, 0 when its lock is held but no PID file names the holder,
 *  or null when nothing serves it. */
export function servingBroker(dataDir: string): number | null {
  return runningBroker(dataDir) ?? (dataDirLocked(dataDir) ? 0 : null);
}

/** Claims `dataDir` for this process: refuses when a live broker holds it (returns its PID, or 0
 *  when the directory's lock is held but no PID file names the holder), otherwise writes our PID
 *  (0600, creating the directory 0700) and returns null. The lock (store/sqlite/dir-lock.ts) is
 *  what makes this exclusive; the PID file tells maintenance commands and people who holds it. */
export function claimPidFile(dataDir: string): number | null {
  const other = runningBroker(dataDir);
  if (other !== null) return other;
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
