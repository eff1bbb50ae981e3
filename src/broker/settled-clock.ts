// A wall-clock time the broker's clock has stayed past for a while, for what must not follow a
// forward step that is set right again (protocol.md §8.3). A clock set 8 days ahead for one sweep,
// then corrected, made every 7-day invite look expired, and the sweep deleted their sealed keys for
// good. What only tidies up (an expired invite's keys) can wait until the clock has read past the
// time at every sweep of a whole SETTLE_MS, measured on the monotonic clock that no step moves.

/** How long, on the monotonic clock, the wall clock must have read past a time before it counts:
 *  longer than a mistaken step takes to be noticed and corrected (NTP steps within minutes). */
export const SETTLE_MS = 60 * 60_000;

export class SettledClock {
  private readonly readings: { mono: number; wall: number }[] = [];

  constructor(
    private readonly settleMs = SETTLE_MS,
    private readonly mono: () => number = () => performance.now(),
  ) {}

  /** Takes the wall clock's reading `wallMs` (now) and returns the lowest reading of the last
   *  settleMs, or null until the readings span settleMs (after a start: nothing counts yet).
   *  Called once per sweep, it keeps about settleMs / 30 s readings. */
  read(wallMs: number): number | null {
    const mono = this.mono();
    this.readings.push({ mono, wall: wallMs });
    // One reading at least settleMs old is kept: it shows that the readings span the whole period.
    while (this.readings.length > 1 && this.readings[1]!.mono <= mono - this.settleMs) this.readings.shift();
    if (this.readings[0]!.mono > mono - this.settleMs) return null;
    return this.readings.reduce((low, r) => Math.min(low, r.wall), Infinity);
  }
}
