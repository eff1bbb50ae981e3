// Code that measures time on a clock that can be stepped back (reliability plan T11): the rate
// limiter neither refunds nor charges for the step, the throttled log does not stand still for as
// long as the step, the audit verifier does not trust a verified prefix longer, and hello
// timestamps follow the clock instead of running ahead of it.
import { describe, expect, test } from "bun:test";
import { RateLimiter } from "../../src/broker/rate-limit.ts";
import { LOG_EVERY_MS, ThrottledLog } from "../../src/broker/throttled-log.ts";
import { freshTimestamp } from "../../src/client/credentials.ts";
import { randomId } from "../../src/crypto/hash.ts";

const TEN_MINUTES = 10 * 60_000;

describe("a clock stepped back ten minutes", () => {
  test("a rate limiter grants no burst and takes nothing away: it refills from the new reading", () => {
    let t = 100 * TEN_MINUTES;
    const rl = new RateLimiter(2, 3, () => t);
    expect([1, 2, 3, 4].map(() => rl.take("a"))).toEqual([true, true, true, false]);
    t -= TEN_MINUTES;
    expect(rl.take("a")).toBe(false);
    t += 500; // one token at 2 a second
    expect([rl.take("a"), rl.take("a")]).toEqual([true, false]);
  });

  test("a throttled log logs at once instead of staying silent until the clock catches up", () => {
    const lines: unknown[] = [];
    let t = 100 * TEN_MINUTES;
    const log = new ThrottledLog({ warn: (_: string, fields: unknown) => lines.push(fields) } as never, "warn", "refused", () => t);
    log.note({ n: 1 });
    log.note({ n: 2 });
    t -= TEN_MINUTES;
    log.note({ n: 3 });
    t += LOG_EVERY_MS - 1;
    log.note({ n: 4 });
    expect(lines).toEqual([
      { n: 1, notLoggedSinceLast: 0 },
      { n: 3, notLoggedSinceLast: 1 },
    ]);
  });

  test("hello timestamps step past a moment already used, but follow a clock set back", () => {
    const key = randomId();
    const t = 100 * TEN_MINUTES;
    expect([freshTimestamp(key, t), freshTimestamp(key, t), freshTimestamp(key, t - 5)]).toEqual([t, t + 1, t + 2]);
    // A timestamp ten minutes ahead of the clock would be refused as timestamp_skew.
    expect(freshTimestamp(key, t - TEN_MINUTES)).toBe(t - TEN_MINUTES);
    expect(freshTimestamp(key, t - TEN_MINUTES)).toBe(t - TEN_MINUTES + 1);
  });
});
