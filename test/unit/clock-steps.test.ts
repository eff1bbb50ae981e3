// Code that measures time on a clock that can be stepped back (reliability plan T11): the rate
// limiter, on the monotonic clock, neither refunds nor charges for a step, the throttled log does
// not stand still for as long as the step, the audit verifier does not trust a verified prefix
// longer, and hello timestamps follow the clock instead of running ahead of it.
import { describe, expect, test } from "bun:test";
import { RateLimiter } from "../../src/broker/rate-limit.ts";
import { LOG_EVERY_MS, ThrottledLog } from "../../src/broker/throttled-log.ts";
import { freshTimestamp } from "../../src/client/credentials.ts";
import { randomId } from "../../src/crypto/hash.ts";
import { until } from "../helpers/until.ts";
import { steppableWallClock } from "../helpers/wall-clock.ts";

const TEN_MINUTES = 10 * 60_000;

describe("a clock stepped back ten minutes", () => {
  test("a rate limiter measures on the monotonic clock: the step takes nothing away, and a step forward grants no burst", async () => {
    using wall = steppableWallClock();
    const slow = new RateLimiter(0.001, 3); // a token per 1000 s: none comes back during the test
    const fast = new RateLimiter(1000, 1); // a token per millisecond
    expect([1, 2, 3, 4].map(() => slow.take("a"))).toEqual([true, true, true, false]);
    expect(fast.take("a")).toBe(true);
    wall.step(-TEN_MINUTES);
    await until(() => fast.take("a"), "the next token, a millisecond on", 2000);
    wall.step(TEN_MINUTES + 60 * 60_000); // an hour ahead of where it started
    expect(slow.take("a")).toBe(false);
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
