// Replay memories on disk (seen/, 0600), per mesh: the CLI's (scope "member", `<meshId>.json`),
// each Claude Code session's (`<meshId>.<scope>.json`, session-memory.ts) and the machine's
// (machine-memory.ts). The CLI and each session read their own copies of messages, so each keeps
// its own; each also adds what it read to the machine's, which seeds new sessions.
import { join } from "node:path";
import { ReplayGuard } from "../../crypto/envelope.ts";
import { moveDamagedAside, readPrivateFile } from "./files.ts";
import { SEEN_HOLDS, shareSeen, type OnDamaged } from "./machine-memory.ts";
import { writeReplayFile } from "./unmerged-marks.ts";

export const seenPath = (dir: string, meshId: string, scope = "member") => join(dir, "seen", scope === "member" ? `${meshId}.json` : `${meshId}.${scope}.json`);

/** A replay file read: its guard, and the object the file holds (for the keys saved beside the
 *  pairs). */
export type ReplayFile = { guard: ReplayGuard; saved: Record<string, unknown> };

/** The replay file at `path`: null when there is none; "damaged" when it is not one (it is written
 *  atomically, so a disk fault or a hand edit), after moving it aside and telling `onDamaged`:
 *  refusing would leave the reader unable to read at all, and starting over silently would hide
 *  that a message already read may be shown again. Throws LocalFileError for a file others can
 *  read. */
export function readReplayFile(path: string, meshId: string, onDamaged: OnDamaged): ReplayFile | null | "damaged" {
  const text = readPrivateFile(path, { holds: SEEN_HOLDS, what: "the replay memory" });
  if (!text) return null;
  try {
    return { guard: ReplayGuard.importJson(text, meshId), saved: JSON.parse(text) as Record<string, unknown> };
  } catch (err) {
    const aside = moveDamagedAside(path);
    onDamaged(`The replay memory ${path} was damaged (${(err as Error).message}); it was moved to ${aside} and a new one starts now. Until it has filled again, a message you already read that the broker sends again would be shown again.`);
    return "damaged";
  }
}

/** The CLI's replay memory of this mesh. Never seeded: the terminal gets its own copy of every
 *  message to the member, whatever the sessions did with theirs. A damaged file: readReplayFile. */
export function loadReplayGuard(dir: string, meshId: string, onDamaged: OnDamaged = () => {}): ReplayGuard {
  const file = readReplayFile(seenPath(dir, meshId), meshId, onDamaged);
  return file === null || file === "damaged" ? new ReplayGuard(meshId) : file.guard;
}

/** Writes the CLI's replay memory (throws LocalFileError when it cannot), then adds what it read
 *  since its last save to the machine's memory, blocking while another process adds. Only that
 *  second step's failure goes to `onShareError` (the pairs are added at the next save, or by the
 *  next session to start after this process ends: the file stays marked, unmerged-marks.ts): the
 *  CLI's own memory is safe, and only a new session's seed lacks them meanwhile. */
export function saveReplayGuard(dir: string, guard: ReplayGuard, onShareError: (err: unknown) => void = (err) => { throw err; }): void {
  const file = seenPath(dir, guard.meshId);
  writeReplayFile(file, guard);
  try {
    shareSeen(dir, guard, { file });
  } catch (err) {
    onShareError(err);
  }
}
