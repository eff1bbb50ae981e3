// What the broker knows of its database's health, for /health, /health/ready and the
// broker_db_healthy gauge. Liveness must answer at once even while the database is stuck or locked
// by another process, and must cost no disk writes to anonymous callers, so it only reads what the
// last probe found. A probe is a committed write that waits at most 100 ms for a lock held
// elsewhere (Store.health): readiness runs one per request up to a bound (READY_PROBES_PER_S), a
// scrape one when the last is stale, and the broker one at start, so the gauge is right before
// anyone asks for readiness.
import type { Health, Store } from "../store/types.ts";
import { RateLimiter } from "./rate-limit.ts";

/** A /metrics scrape probes again when the last probe is older than this: the gauge stays within
 *  seconds of the truth, and hammering /metrics (open to whoever reaches it) cannot drive a write
 *  per request. Prometheus scrapes every 15 s or so, so each scrape probes. */
const SCRAPE_PROBE_AGE_MS = 5_000;

/** Readiness probes a second once READY_PROBE_BURST were run at once. /health/ready is open to
 *  whoever reaches it, and a probe is a write transaction that competes with the message path's
 *  group commit (and, while another process holds the lock, blocks the event loop for its wait):
 *  hammered, it made one per request (200 checks: 1.6 MB through the WAL). A check past the bound
 *  gets the latest probe's result, which is then under 1 / READY_PROBES_PER_S s old: a database
 *  that stopped taking writes reads 503 within that. The burst keeps the checks of a load balancer,
 *  an operator or a supervisor, which come seconds apart, each on a probe of its own. */
const READY_PROBES_PER_S = 1;
const READY_PROBE_BURST = 5;

export class DbHealth {
  private last: Health | null = null;
  private lastAt = Number.NEGATIVE_INFINITY;
  private failed = false;
  /** The probe under way: callers meanwhile share it. */
  private running: Promise<Health> | null = null;
  private readonly readyProbes: RateLimiter;

  constructor(
    private readonly store: Store,
    private readonly gauge: { set(value: number): void },
    private readonly now: () => number = () => performance.now(),
  ) {
    this.readyProbes = new RateLimiter(READY_PROBES_PER_S, READY_PROBE_BURST, now);
    // A failed flush stops the store for good (Store.fatal): say so before the next probe, and
    // let readiness probe again at once rather than repeat what was found before.
    void store.fatal.then(() => {
      this.failed = true;
      this.last = null;
      gauge.set(0);
    });
  }

  /** Probes now (or joins the probe under way), records the result and sets the gauge. Never
   *  throws. */
  probe(): Promise<Health> {
    this.running ??= this.store
      .health()
      .then((h) => {
        this.last = h;
        this.lastAt = this.now();
        this.gauge.set(this.up ? 1 : 0);
        return h;
      })
      .finally(() => (this.running = null));
    return this.running;
  }

  /** For /health/ready: a probe, within READY_PROBES_PER_S; past it the latest probe's result,
   *  under 1 / READY_PROBES_PER_S s old. Never throws. */
  ready(): Promise<Health> {
    if (this.running || this.last === null || this.readyProbes.take("ready")) return this.probe();
    return Promise.resolve(this.last);
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
