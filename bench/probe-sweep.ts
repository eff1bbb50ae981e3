// Diagnostic, not part of `bun run bench`: what the sweep's planning costs with a large queue, in
// the in-memory index alone (store/sqlite/queue-index.ts), on the event loop. Three cases, with
// QUEUED entries in 1,000 mailboxes, all past the de-duplication window (their recipients offline):
//   idle   — none due to expire: one sweep's look for expired entries (every 30 s).
//   expiry — DUE more entries that expired, in the last mailboxes: the batches of SWEEP_BATCH a
//            sweep takes them in.
//   linger — the deletion plans: the first round, which finds every queued message still held
//            (in batches), and the rounds after it, with nothing to delete.
// Run: bun run bench/probe-sweep.ts [--queued 500000] [--due 100000]
import { parseArgs } from "node:util";
import { QueueIndex } from "../src/store/sqlite/queue-index.ts";
import { SWEEP_BATCH } from "../src/store/sqlite/sweep.ts";

const { values } = parseArgs({ options: { queued: { type: "string", default: "500000" }, due: { type: "string", default: "100000" } } });
const QUEUED = Number(values.queued);
const DUE = Number(values.due);
const MAILBOXES = 1000;
const DAY = 86_400_000;

function build(): QueueIndex {
  const index = new QueueIndex();
  const add = (seq: number, recipient: string, expiresAt: number) =>
    index.admit(
      { seq, id: `m${seq}`, meshId: "mesh", senderMemberId: "s", senderPubkey: "s", clientMessageId: `c${seq}`, createdAt: 0, topic: null },
      index.keyOf("mesh", "s", `c${seq}`),
      [{ recipient, priority: "next", expiresAt, claimedBy: null, forNextSession: false }],
    );
  for (let i = 0; i < QUEUED; i++) add(i + 1, `box${i % MAILBOXES}`, 7 * DAY);
  // Due entries in mailboxes of their own, created after the rest: a walk meets them last.
  for (let i = 0; i < DUE; i++) add(QUEUED + i + 1, `late${i % 10}`, 1000);
  return index;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const index = build();
const idle: number[] = [];
for (let i = 0; i < 21; i++) {
  const t = performance.now();
  if (index.expired(999, SWEEP_BATCH).length !== 0) throw new Error("nothing should be due yet");
  idle.push(performance.now() - t);
}
const batches: number[] = [];
for (;;) {
  const t = performance.now();
  const due = index.expired(2000, SWEEP_BATCH);
  index.remove(due);
  batches.push(performance.now() - t);
  if (due.length < SWEEP_BATCH) break;
}

/** One sweep round of deletion plans (batches until one is not full, as timers.ts runs them);
 *  the time of each batch. */
function planRound(): number[] {
  const times: number[] = [];
  for (let full = true; full; ) {
    const t = performance.now();
    const plan = index.deletionPlan(3000, new Set(), SWEEP_BATCH);
    index.afterDeletion(plan, []);
    times.push(performance.now() - t);
    full = plan.full;
  }
  return times;
}
const firstRound = planRound();
const laterRounds = Array.from({ length: 21 }, () => planRound().reduce((a, b) => a + b, 0));
console.log(
  JSON.stringify({
    queued: QUEUED,
    due: DUE,
    idle_look_ms_median: +median(idle).toFixed(3),
    expiry_batches: batches.length,
    expiry_batch_ms_median: +median(batches).toFixed(3),
    expiry_batch_ms_max: +Math.max(...batches).toFixed(3),
    expiry_total_ms: +batches.reduce((a, b) => a + b, 0).toFixed(1),
    linger_first_round_batches: firstRound.length,
    linger_first_round_batch_ms_max: +Math.max(...firstRound).toFixed(3),
    linger_later_round_ms_median: +median(laterRounds).toFixed(3),
  }),
);
