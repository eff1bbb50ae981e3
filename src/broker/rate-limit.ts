// Token buckets keyed by an id (member id for sends, address for connections). Pure and
// clock-injected so tests can drive time. Time is measured on the monotonic clock, so a wall clock
// stepped by NTP or by hand neither refunds a burst nor takes tokens away (reliability plan T11).

export type Bucket = { tokens: number; updatedMs: number };

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  /**
   * @param ratePerSec tokens added per second (sustained rate)
   * @param burst bucket capacity (largest burst)
   * @param now milliseconds on a clock that never goes back (tests inject one they move forward)
   */
  constructor(
    private ratePerSec: number,
    private burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes `cost` tokens if available. Returns true when allowed. */
  take(key: string, cost = 1): boolean {
    const b = this.refill(key);
    if (b.tokens < cost) return false;
    b.tokens -= cost;
    return true;
  }

  /** `key`'s bucket (a full one if it had none), with the tokens earned since its last use added. */
  private refill(key: string): Bucket {
    const t = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: this.burst, updatedMs: t };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.burst, b.tokens + ((t - b.updatedMs) / 1000) * this.ratePerSec);
      b.updatedMs = t;
    }
    return b;
  }

  /** Takes `cost` tokens whether or not they are there: what was already done is paid for after
   *  the fact, and the bucket may go into debt, which later waitMs() calls wait out. */
  spend(key: string, cost: number): void {
    const b = this.refill(key);
    b.tokens -= cost;
  }

  /** How long until `cost` tokens are there for `key`, in ms (0: now). Takes nothing. */
  waitMs(key: string, cost = 1): number {
    const b = this.buckets.get(key);
    if (!b) return 0;
    const tokens = Math.min(this.burst, b.tokens + ((this.now() - b.updatedMs) / 1000) * this.ratePerSec);
    return tokens >= cost ? 0 : ((cost - tokens) / this.ratePerSec) * 1000;
  }

  /** A new rate and size from now on (a SIGHUP's new limits: broker/settings.ts). The buckets are
   *  kept, not reset: each first earns, at the old rate, what it had earned until now, and is cut
   *  to the new size if it holds more; from then on it refills at the new rate. A larger size is
   *  earned at the rate, never handed out at once (resetting would give every sender a full new
   *  burst at the moment an operator lowers the limits to stop one). A debt stays to be waited out. */
  retune(ratePerSec: number, burst: number): void {
    for (const key of this.buckets.keys()) this.refill(key);
    this.ratePerSec = ratePerSec;
    this.burst = burst;
    for (const b of this.buckets.values()) b.tokens = Math.min(b.tokens, burst);
  }

  /** Drops `key`'s bucket (its owner is gone). */
  forget(key: string): void {
    this.buckets.delete(key);
  }

  /** Drops buckets that have been full for a while, so memory tracks active senders only. */
  prune(idleMs = 600_000): number {
    const t = this.now();
    let removed = 0;
    for (const [k, b] of this.buckets) {
      if (t - b.updatedMs > idleMs) {
        this.buckets.delete(k);
        removed++;
      }
    }
    return removed;
  }

  get size(): number {
    return this.buckets.size;
  }
}
