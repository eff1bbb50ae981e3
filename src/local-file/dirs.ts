// Directories a command makes and, when it fails, removes again: `mkdir -p` that knows what it
// made. mkdirSync's `recursive` names only the first directory it made, and nothing when it fails
// partway (a last name too long, a full disk), so the parents it had made stayed behind.
import { existsSync, mkdirSync, rmdirSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";

/** Makes `dir` and the parents it lacks (`mode`, 0700 by default: what claudemesh keeps is
 *  private), one at a time, and returns the ones it made, outermost first ([] when `dir` is
 *  there). One made meanwhile by another process is not counted as ours. On failure removes what
 *  it made and throws the file system's error (mkdir's, naming the directory it failed on). */
export function makeDirs(dir: string, mode = 0o700): string[] {
  const missing: string[] = [];
  // existsSync: a name that cannot be looked up (too long, not searchable) is left to mkdir, whose
  // error says why.
  for (let d = resolve(dir); !existsSync(d) && dirname(d) !== d; d = dirname(d)) missing.unshift(d);
  // mkdir -p's own answer when nothing is missing: nothing, or EEXIST for a file in the way.
  if (missing.length === 0) mkdirSync(dir, { recursive: true, mode });
  const made: string[] = [];
  for (const d of missing) {
    try {
      mkdirSync(d, { mode });
      made.push(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST" && statSync(d, { throwIfNoEntry: false })?.isDirectory()) continue;
      removeMadeDirs(made);
      throw err;
    }
  }
  return made;
}

/** Removes `made` (as makeDirs returned it), deepest first, each only while it is empty: stops at
 *  the first that is not (or cannot be removed), so what someone put there meanwhile stays, with
 *  the directories holding it. Never throws. */
export function removeMadeDirs(made: readonly string[]): void {
  for (const d of made.toReversed()) {
    try {
      rmdirSync(d);
    } catch {
      return;
    }
  }
}
