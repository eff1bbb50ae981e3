// The group role of a kill -9 chaos run (bench/chaos.ts): members join `@crew` before the
// traffic starts, and one of them leaves it and rejoins at seeded moments while the broker is
// killed (protocol §4.3.16). Each change is recorded for chaos-check.ts: a `@crew` message the
// broker resolved while that member was out must not reach its mailboxes, one it resolved while
// it was in must (chaos-access.ts).
import { change, hold } from "./chaos-gating.ts";
import { GROUP, untilDone, type Peer, type Recorder, type Roster } from "./chaos-traffic.ts";

/** Joins each of `members` to `@crew` over its own connection, retried until confirmed, and
 *  records which mailboxes (its key and its sessions', so add sessions first) may get `@crew`
 *  messages. Call before any send. */
export async function joinCrew(members: readonly Peer[], roster: Roster, rec: Recorder): Promise<void> {
  for (const m of members) {
    await untilDone(() => m.client.request("group_join", { group: GROUP }));
    roster.joinGroup(GROUP, m);
    rec.record({ kind: "group-join", group: GROUP, mailboxes: roster.mailboxesOf(m.keys.publicKey) });
  }
}

/** Has `m` (joined by joinCrew) leave `@crew` and rejoin in turns, each state held for a seeded
 *  while, until `running()` turns false; out then, it rejoins. Both requests are idempotent, so a
 *  retry after a kill is safe. Resolves with the number of changes. */
export async function crewLoop(m: Peer, roster: Roster, rec: Recorder, random: () => number, running: () => boolean): Promise<number> {
  const mailboxes = roster.mailboxesOf(m.keys.publicKey);
  let changes = 0;
  for (let leave = true; ; leave = !leave) {
    await hold(random, running);
    if (!running() && leave) return changes;
    const kind = leave ? "group-leave" : "group-join";
    await change(rec, { kind, group: GROUP, mailboxes }, () => m.client.request(leave ? "group_leave" : "group_join", { group: GROUP }));
    changes++;
    if (!running()) return changes;
  }
}
