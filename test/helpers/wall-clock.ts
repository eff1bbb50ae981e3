// Steps this process's wall clock, as NTP stepping it or `date -s` would: `Date.now()` and
// `new Date()` move by the offset and keep running; the monotonic clock (performance.now(),
// setTimeout, setInterval) does not move. Install it before starting the broker under test: code
// that captured `Date.now` earlier keeps the real one. (bun:test's setSystemTime stops the clock.)

/** Replaces the global Date until disposed; `step(ms)` moves the wall clock by `ms`. */
export function steppableWallClock() {
  const RealDate = Date;
  let offsetMs = 0;
  class SteppedDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(RealDate.now() + offsetMs);
      else super(...(args as [number]));
    }
    static override now(): number {
      return RealDate.now() + offsetMs;
    }
  }
  globalThis.Date = SteppedDate as DateConstructor;
  return {
    step(ms: number): void {
      offsetMs += ms;
    },
    [Symbol.dispose](): void {
      globalThis.Date = RealDate;
    },
  };
}
