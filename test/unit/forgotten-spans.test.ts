// What the replay table forgot (src/store/sqlite/forgotten-spans.ts, signature-repo.ts; protocol.md
// §8.3): spans of the expiries the sweep deleted. Spans behind the sweeping clock become one; a
// span ahead of it (swept by a clock later set back) stays apart, so the times between it and the
// clock, which an honest client signs, pass; past MAX_SPANS the closest merge.
import { afterEach, describe, expect, test } from "bun:test";
import { addSpan, covers, MAX_SPANS, parseSpans, type Span } from "../../src/store/sqlite/forgotten-spans.ts";
import { TempDirs } from "./store-fixtures.ts";

const tmp = new TempDirs();
afterEach(() => tmp.cleanup());

describe("spans", () => {
  test.each([
    ["the first", [], [100, 200], 300, [[100, 200]]],
    ["behind the clock: one span, gap and all", [[100, 200]], [500, 600], 700, [[100, 600]]],
    ["overlapping", [[100, 200]], [150, 250], 120, [[100, 250]]],
    ["ahead of a clock set back: apart", [[100, 200]], [10_000, 10_100], 300, [[100, 200], [10_000, 10_100]]],
    ["a span ahead is joined once the clock reaches it", [[100, 200], [10_000, 10_100]], [300, 400], 10_050, [[100, 10_100]]],
  ] as [string, Span[], Span, number, Span[]][])("%s", (_name, spans, added, now, expected) => {
    expect(addSpan(spans, added, now)).toEqual(expected);
  });

  test(`past ${MAX_SPANS} spans the two closest merge`, () => {
    let spans: Span[] = [[0, 10]];
    for (let i = 1; i <= MAX_SPANS; i++) spans = addSpan(spans, [i * 1000 + (i === 5 ? -500 : 0), i * 1000 + 10], 20);
    expect(spans.length).toBe(MAX_SPANS);
    expect(spans.find(([from]) => from === 4000)).toEqual([4000, 5010]);
  });

  test("covers: both ends in, the gaps out", () => {
    const spans: Span[] = [[100, 200], [1000, 1100]];
    expect([99, 100, 200, 201, 999, 1000, 1100, 1101].map((t) => covers(spans, t))).toEqual([false, true, true, false, false, true, true, false]);
  });

  test("parse: none, a list, and a damaged value refused", () => {
    expect(parseSpans(null)).toEqual([]);
    expect(parseSpans("[[1,2],[5,9]]")).toEqual([[1, 2], [5, 9]]);
    for (const bad of ["{}", "[[2,1]]", "[[1]]", '[["1",2]]', "[[1.5,2]]"]) expect(() => parseSpans(bad)).toThrow("forgotten_signatures");
  });
});

describe("the store", () => {
  test("a swept signature is forgotten, not new, after the clock goes back and after a reopen", async () => {
    const dir = tmp.make();
    const store = await tmp.open(dir);
    const t0 = 1_800_000_000_000;
    expect(await store.rememberSignature("a", t0 + 61_000, 0)).toBe("recorded");
    expect(await store.rememberSignature("a", t0 + 61_000, 0)).toBe("replayed");
    expect((await store.sweep(t0 + 95_000, 60_000)).seenSignatures).toBe(1);
    // The clock is back at t0: "a" is within its window again, and gone from the table.
    expect(await store.rememberSignature("a", t0 + 61_000, 0)).toBe("forgotten");
    expect(await store.rememberSignature("b", t0 + 61_001, 0)).toBe("recorded");
    store.close();
    const reopened = await tmp.open(dir);
    expect(await reopened.rememberSignature("a", t0 + 61_000, 0)).toBe("forgotten");
    expect(await reopened.rememberSignature("b", t0 + 61_001, 0)).toBe("replayed");
  });
});
