// The machine's replay memory of a mesh (seen/<meshId>.machine.json): the newest
// REPLAY_GUARD_ENTRIES (sender, id) pairs that any reader on this machine read (the CLI, each
// Claude Code session), in the order they were added. A new session starts with it
// (session-memory.ts), so a broker cannot replay to each new session what was read here: one file
// of bounded size, where each new session used to read every earlier session's file.
//
// Every reader adds what it read under a lock (config-lock.ts withFileLock), read–modify–write,
// so that two sessions saving at once keep each other's pairs; the file is replaced atomically,
// so a reader without the lock sees the old one or the new one, whole. Each pair has a sequence
// number that never changes (`first` is the oldest held pair's), and `gen` names this file's
// history: a session records which pairs seeded it as (gen, upTo) and gets those same ones back
// when it is resumed, not those read after it started (those may be copies still queued for it).
// A reader's file is marked while it holds pairs not added here yet (unmerged-marks.ts), so that
// the pairs of a reader that stopped in between are added at the next session's start
// (mergeLeftBehind) rather than lost to every later seed.
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { ReplayGuard } from "../../crypto/envelope.ts";
import { withFileLock, withFileLockAsync, type FileLock, type OnLockWait } from "./config-lock.ts";
import { ensurePrivateDir, moveDamagedAside, readPrivateFile, writePrivateFile } from "./files.ts";
import { leftBehind, unmark, type LeftBehind } from "./unmerged-marks.ts";

export const SEEN_HOLDS = "the ids of the messages you read";

export type MachineMemory = {
  guard: ReplayGuard;
  /** This file's history: a new random id whenever it starts over (missing, damaged). */
  gen: string;
  /** The sequence number of the oldest pair held; the next pair added gets first + guard.size. */
  first: number;
};

/** What of the machine's memory seeded a session: the pairs of history `gen` numbered below `upTo`. */
export type SeedMark = { gen: string; upTo: number };

/** Told, with a sentence for the log, that a damaged file was moved aside, or that what readers
 *  left behind could not be added now (mergeLeftBehind). */
export type OnDamaged = (note: string) => void;

export const machinePath = (dir: string, meshId: string) => join(dir, "seen", `${meshId}.machine.json`);
const lockOf = (dir: string, meshId: string): FileLock => ({ path: join(dir, "seen", `${meshId}.machine.lock`), guards: machinePath(dir, meshId) });

/** The machine's memory as the file holds it; null when there is none; "damaged" when it is not
 *  one (a disk fault or a hand edit: it is written atomically). Throws LocalFileError for a file
 *  others can read. */
function readMachine(dir: string, meshId: string): MachineMemory | null | "damaged" {
  const text = readPrivateFile(machinePath(dir, meshId), { holds: SEEN_HOLDS, what: "the replay memory" });
  if (text === null) return null;
  try {
    const o = JSON.parse(text) as { gen?: unknown; first?: unknown };
    if (typeof o.gen !== "string" || !Number.isSafeInteger(o.first) || (o.first as number) < 0) return "damaged";
    return { guard: ReplayGuard.importJson(text, meshId), gen: o.gen, first: o.first as number };
  } catch {
    return "damaged";
  }
}

function writeMachine(dir: string, m: MachineMemory): void {
  writePrivateFile(machinePath(dir, m.guard.meshId), m.guard.exportJson({ gen: m.gen, first: m.first }));
}

/** Under the lock: the file as it is, or, when it is missing or damaged, made again from every
 *  other replay file of the mesh here (rebuilt; a damaged one is moved aside first and
 *  `onDamaged` told). `made` says which. */
function current(dir: string, meshId: string, onDamaged: OnDamaged): { m: MachineMemory; made: boolean } {
  const found = readMachine(dir, meshId);
  if (found !== null && found !== "damaged") return { m: found, made: false };
  if (found === "damaged") {
    const path = machinePath(dir, meshId);
    const aside = moveDamagedAside(path);
    onDamaged(`The replay memory ${path} was damaged; it was moved to ${aside} and made again from this machine's other replay files.`);
  }
  return { m: rebuilt(dir, meshId), made: true };
}

/** The machine's memory made from the mesh's other replay files, oldest file first so that the
 *  newest pairs are those kept: once, when the machine's file is first needed (before it, each
 *  session's file held every earlier session's pairs), and again if it is lost. A file that
 *  cannot be read adds nothing. */
function rebuilt(dir: string, meshId: string): MachineMemory {
  const guard = new ReplayGuard(meshId);
  for (const file of replayFiles(dir, meshId)) {
    try {
      const text = readPrivateFile(file, { holds: SEEN_HOLDS, what: "the replay memory" });
      for (const [sender, id] of text ? ReplayGuard.importJson(text, meshId).pairs() : []) guard.check(sender, id);
    } catch {
      // Damaged, or others may write it: its owner's load reports that; here it adds nothing.
    }
  }
  return { guard, gen: randomBytes(8).toString("hex"), first: 0 };
}

/** The replay files of `meshId` here but the machine's, oldest first. Mesh ids hold no `.`. */
function replayFiles(dir: string, meshId: string): string[] {
  const seenDir = join(dir, "seen");
  let names: string[];
  try {
    names = readdirSync(seenDir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith(".json") && (n === `${meshId}.json` || n.startsWith(`${meshId}.`)) && n !== `${meshId}.machine.json`)
    .flatMap((n) => {
      try {
        return [{ path: join(seenDir, n), at: statSync(join(seenDir, n)).mtimeMs }];
      } catch {
        return [];
      }
    })
    .sort((a, b) => a.at - b.at)
    .map((f) => f.path);
}

/** The memory a new session of `meshId` starts from: one file of at most REPLAY_GUARD_ENTRIES
 *  pairs. When it is missing or damaged it is made again (current) and saved, under the lock, so
 *  that this is done once; nothing is written while nothing was read here. A file others can
 *  read, or a lock held by a stopped process, leaves it made in memory only (addPairs' error says
 *  why, in the log). */
export function machineMemory(dir: string, meshId: string, onDamaged: OnDamaged = () => {}): MachineMemory {
  try {
    const m = readMachine(dir, meshId);
    if (m !== null && m !== "damaged") return m;
    // Nothing read here yet (a first session, a health check): nothing to make, nothing written.
    if (!existsSync(join(dir, "seen"))) return rebuilt(dir, meshId);
    return withFileLock(lockOf(dir, meshId), () => {
      const { m, made } = current(dir, meshId, onDamaged);
      if (made && m.guard.size > 0) writeMachine(dir, m);
      return m;
    });
  } catch {
    return rebuilt(dir, meshId);
  }
}

/** How a share is made: `file` is the reader's replay file, whose mark (unmerged-marks.ts) goes
 *  once its pairs are in; `onWait` is told of a lock holder; `onDamaged` of a damaged file. */
export type ShareOptions = { file?: string; onWait?: OnLockWait; onDamaged?: OnDamaged };

/** Adds the pairs `guard` recorded since its last share to the machine's memory, in the order
 *  read (a pair held already keeps its place), and marks them shared. Blocks while another process
 *  adds (for a command). Throws LocalFileError after LOCK_WAIT_MS behind a stopped holder, or when
 *  the file cannot be read or written; the pairs then stay unshared, for the next call, and the
 *  file's mark stays (merged at a later session's start if this process ends first). */
export function shareSeen(dir: string, guard: ReplayGuard, o: ShareOptions = {}): void {
  if (nothingToShare(guard, o)) return;
  ensurePrivateDir(join(dir, "seen"));
  withFileLock(lockOf(dir, guard.meshId), () => addPairs(dir, guard, o), o.onWait);
}

/** shareSeen, waiting for the lock on the event loop (the MCP server). */
export async function shareSeenAsync(dir: string, guard: ReplayGuard, o: ShareOptions = {}): Promise<void> {
  if (nothingToShare(guard, o)) return;
  ensurePrivateDir(join(dir, "seen"));
  await withFileLockAsync(lockOf(dir, guard.meshId), () => addPairs(dir, guard, o), o.onWait);
}

function nothingToShare(guard: ReplayGuard, o: ShareOptions): boolean {
  if (guard.hasUnshared()) return false;
  if (o.file) unmark(o.file);
  return true;
}

/** Under the lock: read (or make) the file, add, write, mark shared, unmark the reader's file.
 *  Synchronous, so no save of this process comes between the add and the unmark. */
function addPairs(dir: string, guard: ReplayGuard, o: ShareOptions): void {
  const { pairs, through } = guard.unshared();
  const { m, made } = current(dir, guard.meshId, o.onDamaged ?? (() => {}));
  if (add(m, pairs) > 0 || made) writeMachine(dir, m);
  guard.markShared(through);
  if (o.file) unmark(o.file);
}

/** Adds `pairs` to `m` in order (a pair held already keeps its place) and returns how many were
 *  new. The oldest pairs past REPLAY_GUARD_ENTRIES are forgotten: the numbers move on past them. */
function add(m: MachineMemory, pairs: Iterable<[string, string]>): number {
  const before = m.guard.size;
  let added = 0;
  for (const [sender, id] of pairs) if (m.guard.check(sender, id)) added++;
  m.first += before + added - m.guard.size;
  return added;
}

/** Adds to the machine's memory the replay files that a reader wrote and then stopped (killed,
 *  crashed, or its last share failed) before adding them: those marked by a process no longer
 *  running (unmerged-marks.ts). For a session's start, before it is seeded; with no such mark it
 *  reads no file. Their pairs come last, as the newest. Each file's mark goes once it is in, under
 *  the lock, so that two sessions starting at once merge it once. A marked file that is gone
 *  (pruned, left) adds nothing; one that cannot be read is reported to `onDamaged`, and its mark
 *  removed (its owner's load reports and moves it aside if it is resumed). Never throws: a lock
 *  behind a stopped holder, or a machine's file that cannot be written, leaves the marks for the
 *  next start, and `onDamaged` is told. */
export function mergeLeftBehind(dir: string, meshId: string, onDamaged: OnDamaged = () => {}): void {
  const marks = leftBehind(join(dir, "seen"), meshId);
  if (marks.length === 0) return;
  try {
    withFileLock(lockOf(dir, meshId), () => {
      const { m, made } = current(dir, meshId, onDamaged);
      const todo = marks.filter((l) => existsSync(l.mark));
      let added = 0;
      for (const l of todo) added += add(m, pairsLeftIn(l, meshId, onDamaged));
      if (added > 0 || made) writeMachine(dir, m);
      for (const l of todo) rmSync(l.mark, { force: true });
    });
  } catch (err) {
    // The marks stay: the next session to start tries again.
    onDamaged(`The replay files ${marks.map((l) => l.file).join(", ")}, which processes that stopped did not add to this machine's replay memory, were not added now (${(err as Error).message}); the next session to start adds them.`);
  }
}

/** The pairs of a file a mark names: none when it is gone or cannot be read (reported). */
function pairsLeftIn(l: LeftBehind, meshId: string, onDamaged: OnDamaged): [string, string][] {
  try {
    const text = readPrivateFile(l.file, { holds: SEEN_HOLDS, what: "the replay memory" });
    return text === null ? [] : ReplayGuard.importJson(text, meshId).pairs();
  } catch (err) {
    onDamaged(`The replay memory ${l.file}, which process ${l.pid} wrote and did not add to this machine's before it stopped, could not be read (${(err as Error).message}). A message it records that the broker hands out again may be shown again to sessions started from now on.`);
    return [];
  }
}
