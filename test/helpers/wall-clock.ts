// Steps this process's wall clock, as NTP stepping it or `date -s` would: `Date.now()` and
// `new Date()` move by the offset and keep running; the monotonic clock (performance.now(),
// setTimeout, setInterval) does not move. Install it before starting the broker under test: code
// that captured `Date.now` earlier keeps the real one. (bun:test's setSystemTime stops the clock.)
// `elapse(ms)` is time passing without the wait: both clocks move, as far as code reads them
// (Date, performance.now()); timers still run on the real monotonic clock.

/** Replaces the global Date (and performance.now, once elapse is called) until disposed;
 *  `step(ms)` moves the wall clock by `ms`, `elapse(ms)` both clocks. */
export function steppableWallClock() {
  const RealDate = Date;
  const realMono = performance.now;
  let offsetMs = 0;
  let elapsedMs = 0;
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
    elapse(ms: number): void {
      offsetMs += ms;
      elapsedMs += ms;
      performance.now = () => realMono.call(performance) + elapsedMs;
    },
    [Symbol.dispose](): void {
      globalThis.Date = RealDate;
      if (elapsedMs !== 0) performance.now = realMono;
    },
  };
}
