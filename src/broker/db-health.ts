// What the broker knows of its database's health, for /health, /health/ready and the
// broker_db_healthy gauge. Liveness must answer at once even while the database is stuck or locked
// by another process, and must cost no disk writes to anonymous callers, so it only reads what the
// last probe found. A probe is a committed write that waits at most 100 ms for a lock held
// elsewhere (Store.health): readiness runs one per request, a scrape one when the last is stale,
// and the broker one at start, so the gauge is right before anyone asks for readiness.
import type { Health, Store } from "../store/types.ts";

/** A /metrics scrape probes again when the last probe is older than this: the gauge stays within
 *  seconds of the truth, and hammering /metrics (open to whoever reaches it) cannot drive a write
 *  per request. Prometheus scrapes every 15 s or so, so each scrape probes. */
const SCRAPE_PROBE_AGE_MS = 5_000;

export class DbHealth {
  private last: Health | null = null;
  private lastAt = Number.NEGATIVE_INFINITY;
  private failed = false;

  constructor(
    private readonly store: Store,
    private readonly gauge: { set(value: number): void },
    private readonly now: () => number = () => performance.now(),
  ) {
    // A failed flush stops the store for good (Store.fatal): say so before the next probe.
    void store.fatal.then(() => {
      this.failed = true;
      gauge.set(0);
    });
  }

  /** Probes now, records the result and sets the gauge. Never throws. */
  async probe(): Promise<Health> {
    const h = await this.store.health();
    this.last = h;
    this.lastAt = this.now();
    this.gauge.set(this.up ? 1 : 0);
    return h;
  }

  /** Before a scrape: probes only when the last probe is older than SCRAPE_PROBE_AGE_MS (on the
   *  monotonic clock: a wall clock stepped back would keep the gauge still for the step's length). */
  async refreshForScrape(): Promise<void> {
    if (this.now() - this.lastAt >= SCRAPE_PROBE_AGE_MS) await this.probe();
  }

  /** Whether the last probe could write and the store has not failed since. Never touches the
   *  database; false before the first probe. */
  get up(): boolean {
    return !this.failed && (this.last?.writable ?? false);
  }
}
