// Pure broker policies: grants lookup, priority gating, dnd stickiness, rate limiting, backoff.
import { describe, expect, test } from "bun:test";
import { DEFAULT_CAPS, capFor, effectiveCaps } from "../../src/broker/grants.ts";
import { deliverable, nextStatus, passes } from "../../src/broker/gating.ts";
import { RateLimiter } from "../../src/broker/rate-limit.ts";
import { backoffDelay } from "../../src/client/reconnect.ts";
import { Batcher } from "../../src/broker/batcher.ts";
import { clientIp } from "../../src/broker/client-ip.ts";
import { shouldReconnect } from "../../src/protocol/close-codes.ts";

describe("grants: member entry, then session entry, then defaults", () => {
  const R = "recipient";
  const M = "m".repeat(64);
  const S = "s".repeat(64);
  test.each([
    ["no entry → defaults", [], null, DEFAULT_CAPS],
    ["member entry wins over a session entry", [{ recipientMemberId: R, senderPubkey: S, caps: ["dm"] }, { recipientMemberId: R, senderPubkey: M, caps: ["topic"] }], S, ["topic"]],
    ["session entry when no member entry", [{ recipientMemberId: R, senderPubkey: S, caps: ["broadcast"] }], S, ["broadcast"]],
    ["session entry ignored for a member sender", [{ recipientMemberId: R, senderPubkey: S, caps: [] }], null, DEFAULT_CAPS],
    ["empty entry → blocked", [{ recipientMemberId: R, senderPubkey: M, caps: [] }], null, []],
    ["another recipient's entry does not apply", [{ recipientMemberId: "other", senderPubkey: M, caps: [] }], null, DEFAULT_CAPS],
  ] as const)("%s", (_n, rows, session, expected) => {
    expect(effectiveCaps(rows as never, R, M, session)).toEqual(expected as never);
  });
  test("kinds map to caps", () => {
    expect(["direct", "broadcast", "group", "topic"].map((k) => capFor(k as never))).toEqual(["dm", "broadcast", "group", "topic"]);
  });
});

describe("gating", () => {
  test("now always passes; next and low only when idle", () => {
    expect(deliverable("idle")).toEqual(["now", "next", "low"]);
    expect(deliverable("working")).toEqual(["now"]);
    expect(deliverable("dnd")).toEqual(["now"]);
    expect([passes("working", "now"), passes("working", "next"), passes("dnd", "low"), passes("idle", "low")]).toEqual([true, false, false, true]);
  });
  test("dnd is sticky against hooks, not against the user", () => {
    expect(nextStatus("dnd", "idle", "hook")).toBe("dnd");
    expect(nextStatus("dnd", "working", "hook")).toBe("dnd");
    expect(nextStatus("dnd", "idle", "manual")).toBe("idle");
    expect(nextStatus("working", "idle", "hook")).toBe("idle");
  });
});

describe("rate limiter", () => {
  test("burst, refill at the sustained rate, independent keys, pruning", () => {
    let t = 0;
    const rl = new RateLimiter(2, 3, () => t);
    expect([1, 2, 3, 4].map(() => rl.take("a"))).toEqual([true, true, true, false]);
    expect(rl.take("b")).toBe(true);
    t = 499;
    expect(rl.take("a")).toBe(false);
    t = 1000;
    expect([rl.take("a"), rl.take("a"), rl.take("a")]).toEqual([true, true, false]);
    t = 10_000;
    expect([1, 2, 3, 4].map(() => rl.take("a"))).toEqual([true, true, true, false]);
    t = 650_000;
    rl.take("b");
    t = 700_000;
    expect(rl.prune(600_000)).toBe(1);
    expect(rl.size).toBe(1);
  });

  test("spend pays after the fact, into debt, which waitMs waits out; forget drops a key", () => {
    let t = 0;
    const rl = new RateLimiter(10, 5, () => t);
    rl.spend("c", 8); // 5 - 8 = -3: one token is due after 4 tokens' time (400 ms)
    expect(rl.waitMs("c")).toBe(400);
    expect(rl.take("c")).toBe(false);
    t = 400;
    expect(rl.waitMs("c")).toBe(0);
    expect(rl.take("c")).toBe(true);
    t = 100_000;
    expect(rl.waitMs("c", 5)).toBe(0); // refilled to the burst, no further
    expect(rl.waitMs("c", 6)).toBe(100);
    rl.forget("c");
    expect(rl.size).toBe(0);
    expect(rl.waitMs("c")).toBe(0);
  });

  // A SIGHUP's new rate and size (broker/settings.ts): the buckets are kept. Time before the change
  // is earned at the old rate, after it at the new; a smaller size cuts what a bucket holds, a
  // larger one is earned, not given; a debt stays.
  test("retune keeps each bucket: earned at the old rate until now, then at the new one, cut to a smaller size", () => {
    let t = 0;
    const rl = new RateLimiter(1, 10, () => t);
    for (let i = 0; i < 10; i++) rl.take("spent");
    rl.take("full");
    rl.spend("owing", 14); // 10 - 14 = -4
    t = 2000; // "spent" has earned 2 at the old rate, "owing" is at -2
    rl.retune(100, 5);
    expect(rl.waitMs("spent", 3)).toBe(10); // 2 held, one more in 10 ms at the new rate
    expect([1, 2, 3, 4, 5, 6].map(() => rl.take("full"))).toEqual([true, true, true, true, true, false]); // cut from 9 to 5
    expect(rl.waitMs("owing")).toBe(30); // -2, then 3 tokens at 100/s
    rl.retune(1000, 50);
    expect(rl.take("fresh", 50)).toBe(true); // a key never seen starts full at the new size
    expect(rl.take("spent", 3)).toBe(false); // a larger size is not handed out
    t = 2010;
    expect(rl.take("spent", 12)).toBe(true); // 2 + 10 ms at 1000/s
  });
});

describe("reconnect policy", () => {
  const retryable = (r: string) => ["capacity", "unavailable"].includes(r);
  test.each([
    [1000, "", true],
    [1001, "shutting down", true],
    [1008, "bad_signature", false],
    [1008, "capacity", true],
    [4001, "kicked", false],
    [4005, "session_ended", false],
    [4100, "stale", true],
  ] as const)("close %i %s → reconnect %p", (code, reason, expected) => {
    expect(shouldReconnect(code, reason, retryable)).toBe(expected);
  });
});

describe("backoff", () => {
  test("grows from 1 s to a 30 s cap with jitter in [ceiling/2, ceiling]", () => {
    expect([0, 1, 2, 3, 4, 5, 10].map((a) => backoffDelay(a, () => 1))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    expect([0, 5].map((a) => backoffDelay(a, () => 0))).toEqual([500, 15000]);
  });
});

describe("batcher (group commit)", () => {
  test("items of one tick share one flush; results arrive in order; a failed flush rejects its batch only", async () => {
    const flushed: number[][] = [];
    let fail = false;
    const b = new Batcher<number, number>(async (items) => {
      flushed.push(items);
      if (fail) throw new Error("disk full");
      return items.map((i) => i * 10);
    });
    expect(await Promise.all([1, 2, 3].map((i) => b.submit(i)))).toEqual([10, 20, 30]);
    fail = true;
    await expect(b.submit(4)).rejects.toThrow("disk full");
    fail = false;
    expect(await b.submit(5)).toBe(50);
    expect(flushed).toEqual([[1, 2, 3], [4], [5]]);
  });

  test("with a linger, items of several ticks share a batch; urgent items, a full batch and drain do not wait", async () => {
    const flushed: number[][] = [];
    const b = new Batcher<number, number>(
      async (items) => {
        flushed.push(items);
        return items;
      },
      { lingerMs: 50, eagerAt: 4 },
    );
    const t0 = performance.now();
    const first = b.submit(1);
    await Bun.sleep(5);
    const second = b.submit(2);
    expect(await Promise.all([first, second])).toEqual([1, 2]);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(45);
    expect(flushed).toEqual([[1, 2]]);
    // Urgent: written at the end of this turn, taking the lingering items along.
    const lingering = b.submit(3);
    const t1 = performance.now();
    expect(await b.submit(4, true)).toBe(4);
    expect(await lingering).toBe(3);
    expect(performance.now() - t1).toBeLessThan(40);
    // eagerAt items: no wait either.
    const t2 = performance.now();
    await Promise.all([5, 6, 7, 8].map((i) => b.submit(i)));
    expect(performance.now() - t2).toBeLessThan(40);
    // drain writes a lingering item at once.
    const t3 = performance.now();
    const last = b.submit(9);
    await b.drain();
    expect(await last).toBe(9);
    expect(performance.now() - t3).toBeLessThan(40);
    expect(flushed).toEqual([[1, 2], [3, 4], [5, 6, 7, 8], [9]]);
  });
});

describe("client address", () => {
  test("X-Forwarded-For is believed only from a trusted proxy", () => {
    expect(clientIp("1.2.3.4", "9.9.9.9", [])).toBe("1.2.3.4");
    expect(clientIp("10.0.0.1", "9.9.9.9, 10.0.0.2", ["10.0.0.1", "10.0.0.2"])).toBe("9.9.9.9");
    expect(clientIp("10.0.0.1", null, ["10.0.0.1"])).toBe("10.0.0.1");
  });
});
