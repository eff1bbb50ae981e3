// Wake detection: a laptop that slept, or a process that was stopped (SIGSTOP, a paused VM), did
// not run for a while, and its link to the broker may have died meanwhile (the broker reaps a
// silent link after one or two ping intervals; a NAT or a new network forgets the flow). Nothing
// tells the process so: its socket still reads open, and its liveness timers run on the monotonic
// clock, which on Linux stands still during a suspend, so the time asleep does not count toward
// the silence that would make it ping. This watch notices the lost time, and the client then
// asks the link at once (client.ts, docs/protocol.md §10 "Waking").

/** How often the watch reads the clocks. One timer callback and two clock reads each: cheap, and
 *  after a wake it runs within this long (its timer's remaining wait is monotonic time). */
export const WAKE_CHECK_MS = 2_000;

/** Time lost beyond one check period that counts as a wake. Shorter losses cannot have cost the
 *  link at a default broker (which reaps after 30 s of silence at the least), and a loaded event
 *  loop or a garbage collection can delay a timer by a second or two. */
export const WAKE_GAP_MS = 5_000;

/** The longest a probe after a wake waits for its answer before the link counts as dead (at most
 *  the socket's own pong timeout, liveness.ts). Long enough for a healthy link's round trip and a
 *  network coming back from sleep, short enough that a dead link is left within seconds. */
export const WAKE_PONG_TIMEOUT_MS = 5_000;

/** How long a wait that ran out while the process did not run goes on once it runs again
 *  (awakeTimeout): enough to read what arrived meanwhile and, when the wake finds the link dead (the
 *  next check, then the probe), to reconnect and be sent again what was lost with it. */
export const WAKE_GRACE_MS = WAKE_CHECK_MS + WAKE_PONG_TIMEOUT_MS + 3_000;

/** setTimeout for a wait (a request's answer, the reply to a mesh_ask) that the time this
 *  process did not run should not use up, as far as the process can tell. Continued after a stop
 *  (SIGSTOP, a paused VM, a suspend on a system whose timers count it), a process runs its overdue
 *  timers before it reads its sockets: such a wait ended with "no answer" while the answer lay
 *  unread, or came with the reconnect a moment later. So a timer that fires more than WAKE_GAP_MS
 *  after its time waits `graceMs` more, once, and runs `fn` only then. On time, it runs `fn` at
 *  once. `clear()` stops it, in its grace too. */
export function awakeTimeout(fn: () => void, ms: number, graceMs = WAKE_GRACE_MS): { clear(): void } {
  const due = performance.now() + ms;
  let timer = setTimeout(() => {
    if (performance.now() - due <= WAKE_GAP_MS) return fn();
    timer = setTimeout(fn, graceMs);
  }, ms);
  return { clear: () => clearTimeout(timer) };
}

/** The two clocks the watch compares: the wall clock (Date.now(), which counts a suspend and moves
 *  when the clock is set) and the monotonic one (performance.now(), which on Linux does not count a
 *  suspend; both count a SIGSTOP). Injected by unit tests. */
export type WakeClocks = { wallMs(): number; monoMs(): number };

const REAL_CLOCKS: WakeClocks = { wallMs: () => Date.now(), monoMs: () => performance.now() };

/** Milliseconds the process lost between two readings its timer meant to take `periodMs` apart:
 *  what passed beyond the period by whichever clock says more. The wall clock catches a suspend
 *  that the monotonic clock does not count, the monotonic clock a stop (or a system whose monotonic
 *  clock counts a suspend, whose timers then fire late). A wall clock set back reads less, never
 *  more, so it costs nothing; one set forward reads as lost time, once. */
export function lostMs(wallDeltaMs: number, monoDeltaMs: number, periodMs: number): number {
  return Math.max(wallDeltaMs, monoDeltaMs) - periodMs;
}

export type WakeOptions = {
  /** The process did not run for about `lostMs` (or the wall clock was set forward by that). */
  onWake: (lostMs: number) => void;
  periodMs?: number;
  gapMs?: number;
  clocks?: WakeClocks;
};

/** Calls onWake once per stretch of lost time longer than `gapMs` (WAKE_GAP_MS), noticed within
 *  `periodMs` (WAKE_CHECK_MS) of running again. Between start() and stop() it holds one unref'd
 *  timer, which never keeps a process alive. */
export class WakeWatch {
  private wallMs = 0;
  private monoMs = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly clocks: WakeClocks;

  constructor(private readonly o: WakeOptions) {
    this.clocks = o.clocks ?? REAL_CLOCKS;
  }

  start(): void {
    if (this.timer) return;
    this.mark();
    this.arm();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Reads the clocks, compares them with the last reading and calls onWake if time was lost.
   *  The timer calls it; unit tests call it after moving their clocks. */
  check(): void {
    const wall = this.clocks.wallMs();
    const mono = this.clocks.monoMs();
    const lost = lostMs(wall - this.wallMs, mono - this.monoMs, this.o.periodMs ?? WAKE_CHECK_MS);
    this.wallMs = wall;
    this.monoMs = mono;
    if (lost > (this.o.gapMs ?? WAKE_GAP_MS)) this.o.onWake(Math.round(lost));
  }

  private mark(): void {
    this.wallMs = this.clocks.wallMs();
    this.monoMs = this.clocks.monoMs();
  }

  // Re-armed after each check rather than an interval: a timer that fires late does not fire again
  // at once to catch up, and the next period is measured from this reading.
  private arm(): void {
    this.timer = setTimeout(() => {
      this.check();
      if (this.timer) this.arm();
    }, this.o.periodMs ?? WAKE_CHECK_MS);
    (this.timer as { unref?: () => void }).unref?.();
  }
}
