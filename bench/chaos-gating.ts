// The group, status and grant roles of a kill -9 chaos run (bench/chaos.ts): members join `@crew`
// before the traffic starts; one recipient switches its status between idle, working and dnd at
// seeded moments, so that the gate of protocol §5.7 holds `next` and `low` messages (and, with
// the run's small queue quota, its queue fills and sends meet §5.11) while the broker is killed;
// one member blocks another's DMs and lifts the block in turns (§5.9).
// Every request is retried until confirmed; each step goes into the Recorder for chaos-check.ts.
import type { Cap } from "../src/protocol/fields.ts";
import { GROUP, untilDone, type Peer, type Recorder, type Roster } from "./chaos-traffic.ts";

/** How long the gated recipient keeps a status before the next change: long enough for its held
 *  messages to fill a queue of the run's quota, short enough to change several times a run. */
const STATUS_HOLD_MS = { min: 800, max: 3_000 };
const POLL_MS = 50;

/** Joins each of `members` to `@crew` over its own connection, retried until confirmed, and
 *  records which mailboxes (its key and its sessions', so add sessions first) may get `@crew`
 *  messages. Call before any send: the membership never changes while traffic runs. */
export async function joinCrew(members: readonly Peer[], roster: Roster, rec: Recorder): Promise<void> {
  for (const m of members) {
    await untilDone(() => m.client.request("group_join", { group: GROUP }));
    roster.joinGroup(GROUP, m);
    rec.record({ kind: "group-join", group: GROUP, mailboxes: roster.mailboxesOf(m.keys.publicKey) });
  }
}

type Status = "idle" | "working" | "dnd";

/** Sets `p`'s status: `asked` is recorded once, before the first try, `confirmed` once the broker
 *  answered (the stored status is then durable, §5.7). Rejects only when it never passes. */
async function setStatus(p: Peer, status: Status, rec: Recorder): Promise<void> {
  const mailbox = p.keys.publicKey;
  rec.record({ kind: "status", mailbox, status, phase: "asked" });
  await untilDone(() => p.client.request("set_status", { status }), () => false, 120_000);
  rec.record({ kind: "status", mailbox, status, phase: "confirmed" });
}

/** Switches `p` between dnd (first, so its queue fills early), working and idle at moments
 *  `random` picks until `running()` turns false, then sets it idle: the gate then owes it every
 *  message it held, before the run's final drain. Resolves with the number of changes. */
export async function statusLoop(p: Peer, rec: Recorder, random: () => number, running: () => boolean): Promise<number> {
  let current: Status = "dnd";
  let changes = 0;
  while (running()) {
    await setStatus(p, current, rec);
    changes++;
    const until = Date.now() + STATUS_HOLD_MS.min + random() * (STATUS_HOLD_MS.max - STATUS_HOLD_MS.min);
    while (running() && Date.now() < until) await Bun.sleep(POLL_MS);
    const next = (["idle", "working", "dnd"] as const).filter((s) => s !== current);
    current = next[Math.floor(random() * next.length)]!;
  }
  await setStatus(p, "idle", rec);
  return changes + 1;
}

/** What the blocking member grants the blocked sender during a block: everything but DMs. */
const BLOCKED_CAPS: Cap[] = ["broadcast", "group", "topic"];

/** `grant_set` over `blocker`'s connection for `sender`'s key, recorded `asked` once and
 *  `confirmed` once answered (stored and flushed), retried across kills. */
async function setGrant(blocker: Peer, sender: Peer, caps: Cap[] | null, roster: Roster, rec: Recorder): Promise<void> {
  const step = { kind: "grant", to: roster.mailboxesOf(blocker.keys.publicKey), from: sender.keys.publicKey, caps } as const;
  rec.record({ ...step, phase: "asked" });
  await untilDone(() => blocker.client.request("grant_set", { peer: sender.keys.publicKey, caps }), () => false, 120_000);
  rec.record({ ...step, phase: "confirmed" });
}

/** Has `blocker` (a member key) block `sender`'s DMs and lift the block in turns, each state held
 *  for a seeded while, until `running()` turns false; a block still standing is lifted then.
 *  Resolves with the number of grant changes. */
export async function blockLoop(blocker: Peer, sender: Peer, roster: Roster, rec: Recorder, random: () => number, running: () => boolean): Promise<number> {
  let changes = 0;
  for (let block = true; ; block = !block) {
    const until = Date.now() + STATUS_HOLD_MS.min + random() * (STATUS_HOLD_MS.max - STATUS_HOLD_MS.min);
    while (running() && Date.now() < until) await Bun.sleep(POLL_MS);
    if (!running() && block) return changes;
    await setGrant(blocker, sender, block ? BLOCKED_CAPS : null, roster, rec);
    changes++;
    if (!running()) return changes;
  }
}
