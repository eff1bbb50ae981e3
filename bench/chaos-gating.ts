// The status role of a kill -9 chaos run (bench/chaos.ts): one recipient switches its status
// between idle, working and dnd at seeded moments, so that the gate of protocol §5.7 holds `next`
// and `low` messages (and, with the run's small queue quota, its queue fills and sends meet
// §5.11) while the broker is killed. Also the two helpers the grant and group roles
// (chaos-grants.ts, chaos-groups.ts) share with it: a seeded hold, and a change recorded `asked`
// and `confirmed` around a request retried across kills, for chaos-check.ts to judge.
import type { Step } from "./chaos-check.ts";
import { untilDone, type Peer, type Recorder } from "./chaos-traffic.ts";

/** How long a role keeps a setting before its next change: long enough for the gated recipient's
 *  held messages to fill a queue of the run's quota, short enough to change several times a run. */
const HOLD_MS = { min: 800, max: 3_000 };
const POLL_MS = 50;

/** Waits a seeded while in HOLD_MS, or until `running()` turns false. */
export async function hold(random: () => number, running: () => boolean): Promise<void> {
  const until = Date.now() + HOLD_MS.min + random() * (HOLD_MS.max - HOLD_MS.min);
  while (running() && Date.now() < until) await Bun.sleep(POLL_MS);
}

type Phased = Extract<Step, { phase?: "asked" | "confirmed" }>;
type Unphased<S> = S extends unknown ? Omit<S, "phase"> : never;

/** Runs `request` until the broker answers it, across kills: `step` is recorded with phase
 *  `asked` once, before the first try, and `confirmed` once answered (the change is then stored
 *  and flushed, so durable). Rejects only when it never passes. */
export async function change(rec: Recorder, step: Unphased<Phased>, request: () => Promise<unknown>): Promise<void> {
  rec.record({ ...step, phase: "asked" } as Phased);
  await untilDone(request, () => false, 120_000);
  rec.record({ ...step, phase: "confirmed" } as Phased);
}

type Status = "idle" | "working" | "dnd";

/** Sets `p`'s status (a confirmed dnd survives restarts, §5.7). */
function setStatus(p: Peer, status: Status, rec: Recorder): Promise<void> {
  return change(rec, { kind: "status", mailbox: p.keys.publicKey, status }, () => p.client.request("set_status", { status }));
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
    await hold(random, running);
    const next = (["idle", "working", "dnd"] as const).filter((s) => s !== current);
    current = next[Math.floor(random() * next.length)]!;
  }
  await setStatus(p, "idle", rec);
  return changes + 1;
}
