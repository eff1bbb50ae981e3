// The grant role of a kill -9 chaos run (bench/chaos.ts): a recipient blocks a sender key, a
// member key or a session key, with grants that leave out some message kinds (protocol §5.9),
// changing them at seeded moments while the broker is killed. Each change is recorded for
// chaos-check.ts, which judges every message against the grants that may have been in force
// as the broker resolved it (chaos-access.ts).
import type { Cap } from "../src/protocol/fields.ts";
import { change, hold } from "./chaos-gating.ts";
import type { Peer, Recorder, Roster } from "./chaos-traffic.ts";

/** The blocks a blocker switches between (each a grant entry's caps): everything (first, so that
 *  even a short run blocks every kind); broadcasts and topic posts only; DMs only; `@group` posts
 *  only. `null`, deleting the entry, lifts the block. */
export const BLOCKS: readonly Cap[][] = [[], ["dm", "group"], ["broadcast", "group", "topic"], ["dm", "broadcast", "topic"]];

/** `grant_set` over `blocker`'s (member key) connection for sender key `sender`. */
function setGrant(blocker: Peer, sender: string, caps: Cap[] | null, roster: Roster, rec: Recorder): Promise<void> {
  const step = { kind: "grant", to: roster.mailboxesOf(blocker.keys.publicKey), from: sender, caps } as const;
  return change(rec, step, () => blocker.client.request("grant_set", { peer: sender, caps }));
}

/** Has `blocker` switch its grant for `sender` (a member key, or a session key: §5.9 looks the
 *  member key's entry up first, then the session key's) between the BLOCKS and no entry, each
 *  held for a seeded while, until `running()` turns false; an entry still standing is deleted
 *  then. Resolves with the number of grant changes. */
export async function blockLoop(blocker: Peer, sender: string, roster: Roster, rec: Recorder, random: () => number, running: () => boolean): Promise<number> {
  let changes = 0;
  let current: Cap[] | null = null;
  for (let next: Cap[] | null = BLOCKS[0]!; ; ) {
    await hold(random, running);
    if (!running()) next = null;
    if (next !== current) (await setGrant(blocker, sender, next, roster, rec), changes++);
    if (!running()) return changes;
    current = next;
    const choices = [null, ...BLOCKS].filter((c) => c !== current);
    next = choices[Math.floor(random() * choices.length)]!;
  }
}
