// The files the backup schedule owns in <dataDir>/backups: `claudemesh-auto-<UTC time>-<4 hex>.db`
// (backupName with the schedule's stem) and the `.partial` of one. Nothing else there is ever
// touched: an operator's `admin backup` (`claudemesh-<time>-<hex>.db`), a copy before a migration
// (`pre-migrate-v*.db`), a file of theirs, a symbolic link even with our name.
import { lstatSync, readdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";

/** The stem of the schedule's backup names (backup.ts backupName). */
export const AUTO_STEM = "claudemesh-auto";

const STAMP = String.raw`(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2}\.\d{3})Z`;
const AUTO_NAME = new RegExp(`^${AUTO_STEM}-${STAMP}-[0-9a-f]{4}\\.db$`);
const AUTO_PARTIAL = new RegExp(`^${AUTO_STEM}-${STAMP}-[0-9a-f]{4}\\.db\\.partial$`);

/** One of the schedule's files: its path and the time its name says the backup started (ms). */
export type AutoFile = { path: string; at: number };

/** The schedule's files in `dir` that `pattern` names, regular files only, oldest first; none
 *  when `dir` does not exist. Throws what reading the directory throws otherwise. */
function ownFiles(dir: string, pattern: RegExp): AutoFile[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const files: AutoFile[] = [];
  for (const name of names) {
    const m = pattern.exec(name);
    if (!m) continue;
    const path = join(dir, name);
    // lstat: a link or directory with our name was not made by the schedule.
    if (!lstatSync(path, { throwIfNoEntry: false })?.isFile()) continue;
    const [, y, mo, d, h, mi, s] = m;
    files.push({ path, at: Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}Z`) });
  }
  return files.sort((a, b) => a.at - b.at || (a.path < b.path ? -1 : 1));
}

/** The schedule's finished backups in `dir`, oldest first. */
export const autoBackups = (dir: string): AutoFile[] => ownFiles(dir, AUTO_NAME);

/** What a prune removed, and what it could not (each with why). */
export type Pruned = { removed: string[]; failed: { path: string; error: string }[] };

function remove(paths: string[]): Pruned {
  const out: Pruned = { removed: [], failed: [] };
  for (const path of paths) {
    try {
      rmSync(path);
      out.removed.push(path);
    } catch (err) {
      out.failed.push({ path, error: (err as Error).message });
    }
  }
  return out;
}

/** Deletes the oldest of the schedule's backups in `dir` beyond the newest `keep`. Called only
 *  after a backup succeeded, so a run of failures never removes one that might be the last good.
 *  `taken`, the backup that just succeeded, counts as the newest whatever its name says: after
 *  the clock was set back, backups named earlier by a clock that ran ahead sort after it, and it
 *  was the one deleted (logged as taken, gone from the disk). */
export function pruneAutoBackups(dir: string, keep: number, taken?: string): Pruned {
  const all = autoBackups(dir);
  const rest = taken === undefined ? all : all.filter((f) => resolve(f.path) !== resolve(taken));
  const room = keep - (all.length - rest.length);
  return remove(rest.slice(0, Math.max(0, rest.length - room)).map((f) => f.path));
}

/** Deletes the `.partial` files earlier scheduled backups left: a copy that failed integrity_check
 *  or its audit chains (kept as evidence) or one whose process died. With `keepNewest` the newest
 *  stays, as evidence of the latest failure, so a failure repeated every interval keeps one copy,
 *  not one per interval. The schedule runs one backup at a time (the data directory's lock holds
 *  one broker), and calls this only while none runs: none of these is being written. */
export function prunePartials(dir: string, keepNewest: boolean): Pruned {
  const all = ownFiles(dir, AUTO_PARTIAL);
  return remove((keepNewest ? all.slice(0, -1) : all).map((f) => f.path));
}
