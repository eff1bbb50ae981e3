// A token bucket per client address (its /64 for IPv6: client-ip.ts addressKey), for the requests
// anyone may make without being a member: dashboard logins, mesh creation and invite claims.
import { MeshError } from "../protocol/errors.ts";
import { addressKey, clientIp } from "./client-ip.ts";
import { RateLimiter } from "./rate-limit.ts";

/** How often idle buckets are dropped. */
const PRUNE_EVERY_MS = 60_000;

export type ThrottleOptions = {
  ratePerSec: number;
  burst: number;
  /** The refusal's message, made when it is said (it may name limits a SIGHUP changed). */
  refused: string | (() => string);
  /** Read at each request: the trustedProxies in force. */
  trustedProxies: () => readonly string[];
  /** Told the client's address of each refusal (a log line). */
  onRefused?: (ip: string) => void;
};

export class AddressThrottle {
  private readonly limiter: RateLimiter;
  private lastPrune: number;
  private ratePerSec: number;
  private burst: number;

  constructor(
    private readonly opts: ThrottleOptions,
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.limiter = new RateLimiter(opts.ratePerSec, opts.burst, clock);
    this.ratePerSec = opts.ratePerSec;
    this.burst = opts.burst;
    this.lastPrune = clock();
  }

  /** Throws MeshError rate_limited (HTTP 429, retryable, with the wait until the address has a
   *  try again as its retryAfterMs) when the address is over its allowance.
   *  `direct` is the connection's peer address; X-Forwarded-For counts only from a trusted proxy. */
  take(direct: string | undefined, forwardedFor: string | null): void {
    const now = this.clock();
    if (now - this.lastPrune > PRUNE_EVERY_MS) {
      this.lastPrune = now;
      this.limiter.prune((this.burst / this.ratePerSec) * 1000); // a bucket is full again by then
    }
    const ip = clientIp(direct ?? "unknown", forwardedFor, this.opts.trustedProxies());
    const key = addressKey(ip);
    if (this.limiter.take(key)) return;
    this.opts.onRefused?.(ip);
    const { refused } = this.opts;
    throw new MeshError("rate_limited", typeof refused === "string" ? refused : refused(), { retryAfterMs: this.limiter.waitMs(key) });
  }

  /** A new rate and burst from now on, the addresses' buckets kept (RateLimiter.retune). */
  retune(ratePerSec: number, burst: number): void {
    this.limiter.retune(ratePerSec, burst);
    this.ratePerSec = ratePerSec;
    this.burst = burst;
  }
}
