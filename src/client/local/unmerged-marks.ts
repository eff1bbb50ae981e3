// Marks on replay files written ahead of the machine's replay memory (machine-memory.ts). A reader
// (the CLI, a Claude Code session) writes what it read to its own replay file first and adds it to
// the machine's memory just after, under a lock. A crash between the two (SIGKILL, power loss, a
// last share that failed before the process exited) would leave those pairs out of every later
// session's seed for good: another reader's share adds only what that reader read.
//
// So before a reader writes pairs that the machine's memory may lack, it creates an empty mark
// beside its file, `<file>.<pid>-<run>.unmerged`, and removes it once it has added them. A mark
// whose process no longer runs names a file to merge: a new session merges those files before it
// is seeded (machine-memory.ts mergeLeftBehind). Finding them costs the start one listing of seen/,
// and nothing more when nothing crashed. Only the process a mark names removes a live one, so a
// merge never takes away the mark of pairs written after it read the file.
import { closeSync, openSync, readdirSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import type { ReplayGuard } from "../../crypto/envelope.ts";
import { onFile } from "../../local-file/error.ts";
import { ensurePrivateDir, pidRunning, writePrivateFile } from "./files.ts";

/** This process's run: a pid alone names a dead process's marks as ours in a container, where
 *  claudemesh often gets the same pid every time. */
const RUN = randomBytes(6).toString("hex");
const MARK = /^(.+\.json)\.([1-9][0-9]{0,9})-([0-9a-f]{12})\.unmerged$/;
const markOf = (file: string) => `${file}.${process.pid}-${RUN}.unmerged`;

/** A mark left by a process that no longer runs: `file` holds pairs it may not have added. */
export type LeftBehind = { mark: string; file: string; pid: number };

/** Writes a reader's replay file, `guard`'s pairs with `extra` beside them. When `guard` holds pairs
 *  not yet added to the machine's memory, the file is marked first (a file system that keeps the
 *  order of its name changes, as ext4 does, keeps the mark whenever it keeps the new file). Throws
 *  LocalFileError when the mark or the file cannot be written. */
export function writeReplayFile(file: string, guard: ReplayGuard, extra: Record<string, unknown> = {}): void {
  if (guard.hasUnshared()) {
    ensurePrivateDir(dirname(file));
    const mark = markOf(file);
    onFile(mark, "write", () => {
      try {
        closeSync(openSync(mark, "wx", 0o600));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err; // ours, from an earlier save
      }
    });
  }
  writePrivateFile(file, guard.exportJson(extra));
}

/** This process's mark on `file` removed: every pair it wrote there is in the machine's memory.
 *  A mark that cannot be removed stays, and only costs a merge that adds nothing. */
export function unmark(file: string): void {
  try {
    rmSync(markOf(file), { force: true });
  } catch {
    // As said.
  }
}

/** The marks on `meshId`'s replay files in `seenDir` whose process no longer runs (or is this
 *  pid in an earlier run). A mark of a process in another pid namespace that shares the directory
 *  counts as left behind: merging its file adds nothing wrong. Mesh ids hold no `.`. */
export function leftBehind(seenDir: string, meshId: string): LeftBehind[] {
  let names: string[];
  try {
    names = readdirSync(seenDir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const m = name.startsWith(`${meshId}.`) ? MARK.exec(name) : null;
    if (!m) return [];
    const pid = Number(m[2]);
    const running = pid === process.pid ? m[3] === RUN : pidRunning(pid);
    return running ? [] : [{ mark: join(seenDir, name), file: join(seenDir, m[1]!), pid }];
  });
}

/** True for a mark's file name (`leave` deletes them with the mesh's replay files). */
export const isUnmergedMark = (name: string): boolean => MARK.test(basename(name));
