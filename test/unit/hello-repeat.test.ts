// The hello after a `replayed` refusal (src/client/hello-repeat.ts): a first connect repeats it a
// bounded number of times, and the repeat's timestamp is set ahead of the clock by the random
// source's pick, so two processes refused together sign apart whatever their clocks read.
import { expect, test } from "bun:test";
import { HelloRepeats, REPLAYED_REPEATS, SPREAD_MS } from "../../src/client/hello-repeat.ts";
import { randomId } from "../../src/crypto/hash.ts";

test("a first connect repeats after `replayed` REPLAYED_REPEATS times, a reconnect never at once, other reasons never", () => {
  const r = new HelloRepeats();
  expect([r.refused("bad_signature", true), r.refused("replayed", false)]).toEqual([false, false]);
  expect(Array.from({ length: REPLAYED_REPEATS + 1 }, () => r.refused("replayed", true))).toEqual([...Array(REPLAYED_REPEATS).fill(true), false]);
});

test("the hello after `replayed` (a reconnect's too) is dated ahead by the random pick, once; others by buildHello", () => {
  const key = randomId();
  const picks = [0, 0.5, 0.999999];
  const r = new HelloRepeats(() => picks.shift()!);
  expect(r.timestamp(key)).toBeUndefined();
  // Each offset as far as the clock lets it be known: between the readings before and after.
  const within = [true, false, true].map((first) => {
    r.refused("replayed", first);
    const before = Date.now();
    const at = r.timestamp(key)!;
    return { least: at - Date.now(), most: at - before };
  });
  expect(r.timestamp(key)).toBeUndefined();
  [1, 500, SPREAD_MS - 1].forEach((offset, i) => expect(within[i]!.least <= offset && offset <= within[i]!.most).toBe(true));
});
