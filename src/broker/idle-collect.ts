// An idle broker gives back what a burst left behind. JavaScriptCore collects when the program
// allocates, so after a burst (a thousand invite claims, a reconnect storm, a drained queue) its
// garbage stays in the heap until the next allocations, which an idle broker does not make, and the
// allocator returns the pages on its own schedule: measured, a broker holding 1,000 idle peers
// stayed at 115–163 MiB for 5–10 s or more after their setup, and at 92 MiB after one full
// collection. Once a second, a broker that handled no frame and no request during the last second,
// and whose resident memory grew by COLLECT_AFTER_GROWTH since its last full collection, collects
// once. A busy broker never does (its collector keeps up on its own); an idle one does not again
// until it grows again. Resident memory, not the heap's size: the engine's own collections keep
// the heap small during a burst while the pages it freed stay resident.
// Reading resident memory needs a file descriptor (Bun reads /proc on Linux): a broker out of them
// gets an exception instead of a reading. That tick is skipped (no collection), never thrown.

/** How often the broker looks. */
export const IDLE_TICK_MS = 1000;
/** Growth of resident memory since the last full collection worth a collection once idle. */
export const COLLECT_AFTER_GROWTH = 16 * 1024 * 1024;

export class IdleCollector {
  private handled = 0;
  /** Null until a reading succeeded (the first may fail: out of descriptors at start). */
  private residentAfterCollect: number | null;

  /** `resident` (bytes) and `collect` are injectable for unit tests. */
  constructor(
    private readonly resident: () => number = () => process.memoryUsage.rss(),
    private readonly collect: () => void = () => Bun.gc(true),
  ) {
    this.residentAfterCollect = this.reading();
  }

  /** Resident bytes, or null when they could not be read (EMFILE). */
  private reading(): number | null {
    try {
      return this.resident();
    } catch {
      return null;
    }
  }

  /** A frame or request was handled: the broker was not idle during this tick. */
  busy(): void {
    this.handled++;
  }

  /** One look (every IDLE_TICK_MS); true when it collected. Never throws: a tick whose reading
   *  failed does nothing (the next one looks again). */
  tick(): boolean {
    const idle = this.handled === 0;
    this.handled = 0;
    if (!idle) return false;
    const now = this.reading();
    if (now === null) return false;
    this.residentAfterCollect ??= now;
    if (now - this.residentAfterCollect < COLLECT_AFTER_GROWTH) return false;
    this.collect();
    // A failed reading after the collection: measure growth from before it (fewer collections).
    this.residentAfterCollect = this.reading() ?? now;
    return true;
  }
}
