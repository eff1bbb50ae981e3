// Wake detection (src/client/wake.ts, docs/protocol.md §10 "Waking"): the watch reads the wall and
// the monotonic clock every period and reports time the process lost, once per stretch: a suspend
// (the wall clock runs on, the monotonic one stands still, as on Linux), a stop (both run on), and a
// wall clock set forward (one report, which costs the client one ping); never a clock set back or a
// timer that is merely late.
import { expect, test } from "bun:test";
import { awakeTimeout, lostMs, WAKE_CHECK_MS, WAKE_GAP_MS, WakeWatch } from "../../src/client/wake.ts";

/** A watch on clocks the test moves: `tick(wallMs, monoMs)` advances them and runs one check. */
function driven() {
  let wall = 1_800_000_000_000;
  let mono = 5_000;
  const woke: number[] = [];
  const watch = new WakeWatch({ onWake: (lost) => woke.push(lost), clocks: { wallMs: () => wall, monoMs: () => mono } });
  watch.start();
  watch.stop(); // the test runs the checks itself; start() took the first reading
  return {
    woke,
    tick(wallMs: number, monoMs = wallMs): number[] {
      wall += wallMs;
      mono += monoMs;
      watch.check();
      return woke;
    },
  };
}

const P = WAKE_CHECK_MS;

test("lostMs: what passed beyond the period, by whichever clock says more", () => {
  expect([lostMs(P, P, P), lostMs(P + 60_000, P, P), lostMs(P + 60_000, P + 60_000, P), lostMs(-3_600_000, P, P), lostMs(P, P + 500, P)]).toEqual([0, 60_000, 60_000, 0, 500]);
});

test("steady ticks report nothing", () => {
  const w = driven();
  for (let i = 0; i < 100; i++) w.tick(P);
  expect(w.woke).toEqual([]);
});

test("a suspend (wall clock runs on, monotonic stands still) is reported once, with its length", () => {
  const w = driven();
  w.tick(P);
  expect(w.tick(P + 600_000, P)).toEqual([600_000]);
  expect(w.tick(P)).toEqual([600_000]);
});

test("a stop (SIGSTOP, a paused VM: both clocks run on, the timer fires late) is reported once", () => {
  const w = driven();
  expect(w.tick(P + 30_000)).toEqual([30_000]);
  w.tick(P);
  expect(w.woke).toEqual([30_000]);
});

test("a wall clock set forward is reported once; set back, never", () => {
  const w = driven();
  w.tick(P + 3_600_000, P);
  w.tick(P);
  w.tick(P - 3_600_000, P);
  w.tick(P);
  expect(w.woke).toEqual([3_600_000]);
});

test("lost time up to the gap is a late timer, not a wake; past it, a wake", () => {
  const w = driven();
  w.tick(P + WAKE_GAP_MS); // a loaded event loop, a long garbage collection
  expect(w.woke).toEqual([]);
  w.tick(P + WAKE_GAP_MS + 1, P);
  expect(w.woke).toEqual([WAKE_GAP_MS + 1]);
});

test("stop() from inside onWake ends the watch: no timer is armed again", async () => {
  let wall = 0;
  const calls: number[] = [];
  const watch: WakeWatch = new WakeWatch({ periodMs: 5, gapMs: 10, clocks: { wallMs: () => (wall += 1_000), monoMs: () => performance.now() }, onWake: (lost) => (calls.push(lost), watch.stop()) });
  watch.start();
  // Without the guard the timer armed itself again after stop() and reported every 5 ms.
  await Bun.sleep(60);
  expect(calls.length).toBe(1);
});

/** performance.now() moved `ms` ahead while `run` runs, as a process continued after a stop reads it
 *  when its overdue timers fire. */
async function monoAhead(ms: number, run: () => Promise<void>): Promise<void> {
  const real = performance.now;
  performance.now = () => real.call(performance) + ms;
  try {
    await run();
  } finally {
    performance.now = real;
  }
}

test("awakeTimeout: on time, it runs at once; fired past the gap (the process was stopped through it), after its grace", async () => {
  const ran: string[] = [];
  awakeTimeout(() => ran.push("on time"), 5, 1_000);
  await Bun.sleep(30);
  expect(ran).toEqual(["on time"]);
  const late = awakeTimeout(() => ran.push("late"), 5, 60);
  await monoAhead(WAKE_GAP_MS + 1_000, async () => {
    await Bun.sleep(30);
    expect(ran).toEqual(["on time"]); // in its grace: what arrived meanwhile is read first
    await Bun.sleep(80);
  });
  expect(ran).toEqual(["on time", "late"]);
  late.clear(); // after it ran: nothing
});

test("awakeTimeout: clear() stops it, in its grace too", async () => {
  const ran: string[] = [];
  awakeTimeout(() => ran.push("cleared before"), 20, 60).clear();
  const t = awakeTimeout(() => ran.push("cleared in its grace"), 5, 60);
  await monoAhead(WAKE_GAP_MS + 1_000, async () => {
    await Bun.sleep(30);
    t.clear();
    await Bun.sleep(80);
  });
  expect(ran).toEqual([]);
});
