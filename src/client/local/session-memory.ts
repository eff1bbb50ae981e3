// One Claude Code session's replay memory of one mesh (seen/<meshId>.<scope>.json): the pairs the
// session read itself, what its MCP server keeps beside them (link-memory.ts: replies, senders,
// open asks; never shared with other sessions), and which part of the machine's memory seeded it
// (`seed`, a SeedMark). Seeded, the session drops a replay of anything the CLI or an earlier
// session read here (session 31); its file holds only its own pairs, so files stay small however
// many sessions ran, and a start reads at most two of them (the machine's and its own), besides
// the files of readers that stopped before adding what they read to the machine's memory
// (unmerged-marks.ts), once.
import { rmSync, utimesSync } from "node:fs";
import { ReplayGuard } from "../../crypto/envelope.ts";
import { machineMemory, mergeLeftBehind, shareSeen, shareSeenAsync, type OnDamaged, type SeedMark } from "./machine-memory.ts";
import { readReplayFile, seenPath } from "./replay-memory.ts";
import { writeReplayFile } from "./unmerged-marks.ts";

export class SessionMemory {
  #sharing: Promise<void> = Promise.resolve();

  constructor(
    private readonly dir: string,
    private readonly path: string,
    /** The session's replay guard, seeded. */
    readonly guard: ReplayGuard,
    /** Which pairs of the machine's memory seeded it; null for a file from before seeds were
     *  marked (it holds its seed among its own pairs) or one that was damaged. */
    private readonly mark: SeedMark | null,
    private readonly saved: Record<string, unknown>,
    private readonly onDamaged: OnDamaged,
  ) {}

  /** What the file held under `key` beside the pairs when it was opened; undefined when it held
   *  nothing there (a new session, a damaged file). */
  extra(key: string): unknown {
    return this.saved[key];
  }

  /** Writes the session's file: its own pairs, `extra` beside them, and its seed mark; marked as
   *  ahead of the machine's memory until the next share (unmerged-marks.ts). Throws
   *  LocalFileError when it cannot. */
  save(extra: Record<string, unknown>): void {
    writeReplayFile(this.path, this.guard, { ...extra, seed: this.mark });
  }

  /** Adds what the session read since its last share to the machine's memory, waiting for the
   *  lock on the event loop, one share after another; never rejects: a failure goes to `onError`
   *  and those pairs go with the next share. */
  share(onError: (err: unknown) => void): void {
    this.#sharing = this.#sharing.then(() => shareSeenAsync(this.dir, this.guard, { file: this.path, onDamaged: this.onDamaged }).catch(onError));
  }

  /** share, at once, blocking: for the last save before the process exits. */
  shareNow(onError: (err: unknown) => void): void {
    try {
      shareSeen(this.dir, this.guard, { file: this.path, onDamaged: this.onDamaged });
    } catch (err) {
      onError(err);
    }
  }

  /** Settles when the shares begun so far are done. */
  shared(): Promise<void> {
    return this.#sharing;
  }

  /** Marks the file as used now (session-keys.ts pruneSessions keeps what was used lately). */
  touch(): void {
    const now = new Date();
    try {
      utimesSync(this.path, now, now);
    } catch {
      // Not written yet, or gone: nothing to mark.
    }
  }

  /** Deletes the file (a session that never became one: link's forgetIfNew). */
  remove(): void {
    rmSync(this.path, { force: true });
  }
}

/** The replay memory of the session whose key begins `scope`. A new session's is seeded with the
 *  whole machine's memory: an honest broker never hands a session a message from before the
 *  session existed that another reader here already read (a member-key message goes to the next
 *  session only while none acked it), while a broker replaying old messages to each new Claude
 *  Code session would otherwise find it with an empty memory. A resumed session's is seeded with
 *  the part that seeded it when it was new (its mark), not with what was read here since: that may
 *  be copies still queued for it. A damaged file is moved aside and reported (readReplayFile), and
 *  an empty memory starts, as for the CLI. First, the files other readers wrote and did not add to
 *  the machine's memory before they stopped are added (mergeLeftBehind). */
export function openSessionMemory(dir: string, meshId: string, scope: string, onDamaged: OnDamaged = () => {}): SessionMemory {
  mergeLeftBehind(dir, meshId, onDamaged);
  const path = seenPath(dir, meshId, scope);
  const file = readReplayFile(path, meshId, onDamaged);
  if (file === "damaged") return new SessionMemory(dir, path, new ReplayGuard(meshId), null, {}, onDamaged);
  if (file === null) {
    const m = machineMemory(dir, meshId, onDamaged);
    const guard = new ReplayGuard(meshId);
    guard.seed(m.guard);
    return new SessionMemory(dir, path, guard, { gen: m.gen, upTo: m.first + m.guard.size }, {}, onDamaged);
  }
  const mark = seedMarkOf(file.saved.seed);
  if (mark) {
    const m = machineMemory(dir, meshId, onDamaged);
    // Another history (the file was lost and made again): its numbers name other pairs.
    if (m.gen === mark.gen) file.guard.seed(m.guard, Math.min(Math.max(mark.upTo - m.first, 0), m.guard.size));
  }
  return new SessionMemory(dir, path, file.guard, mark, file.saved, onDamaged);
}

function seedMarkOf(v: unknown): SeedMark | null {
  const o = v as Partial<SeedMark> | null;
  return typeof o === "object" && o !== null && typeof o.gen === "string" && Number.isSafeInteger(o.upTo) ? { gen: o.gen, upTo: o.upTo! } : null;
}
