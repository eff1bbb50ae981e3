// What a restore keeps of the broker's replay memory (protocol.md §2.5). The backup remembers the
// signatures of its own day: a hello, signed request, invite claim or dashboard link the broker
// accepted after the backup was taken would pass again on the restored database while it is within
// its window (61 s; a link up to 6 min). So the restore joins the replaced database's memory into
// the copy it installs, before the copy takes the database's name. When that memory cannot be read
// (a damaged database, or none: restore is what one runs after damage), it sets a floor at the
// restore's time instead: every signature the broker could have accepted before it is refused, and
// so are fresh ones for about a minute after it.
import { existsSync } from "node:fs";
import { HELLO_SKEW_MS } from "../protocol/limits.ts";
import { carryReplayMemory, readReplayMemory, type ReplayMemory } from "../store/sqlite/replay-file.ts";
import { readingReplaced } from "./restore-target.ts";

/** What the restored database remembers against replay: the replaced database's memory joined in
 *  (`signatures`: how many it held), or, when it could not be read (`why`), the floor, and the
 *  time (ISO) from which a signature made with a correct clock passes again. */
export type ReplayKept = { from: "replaced"; signatures: number } | { from: "none"; why: string; until: string };

/** The replay memory of the database `db` a restore replaces, or why there is none. */
export type ReplacedMemory = { memory: ReplayMemory } | { memory: null; why: string };

/** Reads the replay memory of `db`, the database the restore replaces, while it is in place and the
 *  restore holds its lock (no broker adds to it then), leaving no side file the read made. Never
 *  throws: a database that is missing or cannot be read is a reason. */
export async function replacedMemory(db: string): Promise<ReplacedMemory> {
  if (!existsSync(db)) return { memory: null, why: "there was no database to replace" };
  return readingReplaced(db, async () => {
    try {
      return { memory: readReplayMemory(db) };
    } catch (err) {
      return { memory: null, why: `the replaced database cannot be read: ${(err as Error).message}` };
    }
  });
}

/** Joins `replaced` into the staged copy `staged` (replay-file.ts), or sets its floor at `lockedAtMs`,
 *  a time at which the restore already held the database's lock, so no broker could accept
 *  anything after it. Throws SQLite's error (a full disk): the restore then changes nothing. */
export function keepReplayMemory(staged: string, replaced: ReplacedMemory, lockedAtMs: number): ReplayKept {
  const floor = carryReplayMemory(staged, replaced.memory, lockedAtMs);
  if (replaced.memory) return { from: "replaced", signatures: replaced.memory.signatures.length };
  // A hello passes from timestamp - HELLO_SKEW_MS on, and a link from its expiry less its time to
  // live less the skew: signed with a correct clock, both pass again HELLO_SKEW_MS after the floor.
  return { from: "none", why: replaced.why, until: new Date((floor ?? lockedAtMs) + HELLO_SKEW_MS).toISOString() };
}
