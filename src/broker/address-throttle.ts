// A token bucket per client address (its /64 for IPv6: client-ip.ts addressKey), for the requests
// anyone may make without being a member: dashboard logins and mesh creation.
import { MeshError } from "../protocol/errors.ts";
import { addressKey, clientIp } from "./client-ip.ts";
import { RateLimiter } from "./rate-limit.ts";

/** How often idle buckets are dropped. */
const PRUNE_EVERY_MS = 60_000;

export class AddressThrottle {
  private readonly limiter: RateLimiter;
  private lastPrune: number;

  constructor(
    /** `onRefused`: told the client's address of each refusal (a log line). */
    private readonly opts: { ratePerSec: number; burst: number; refused: string; trustedProxies: readonly string[]; onRefused?: (ip: string) => void },
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.limiter = new RateLimiter(opts.ratePerSec, opts.burst, clock);
    this.lastPrune = clock();
  }

  /** Throws MeshError rate_limited (HTTP 429, retryable, with the wait until the address has a
   *  try again as its retryAfterMs) when the address is over its allowance.
   *  `direct` is the connection's peer address; X-Forwarded-For counts only from a trusted proxy. */
  take(direct: string | undefined, forwardedFor: string | null): void {
    const now = this.clock();
    if (now - this.lastPrune > PRUNE_EVERY_MS) {
      this.lastPrune = now;
      this.limiter.prune((this.opts.burst / this.opts.ratePerSec) * 1000); // a bucket is full again by then
    }
    const ip = clientIp(direct ?? "unknown", forwardedFor, this.opts.trustedProxies);
    const key = addressKey(ip);
    if (this.limiter.take(key)) return;
    this.opts.onRefused?.(ip);
    throw new MeshError("rate_limited", this.opts.refused, { retryAfterMs: this.limiter.waitMs(key) });
  }
}
