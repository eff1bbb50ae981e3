// Reliability plan T23: our canonical JSON (docs/protocol.md §9.2) against `canonicalize`, the
// RFC 8785 (JCS) reference implementation, on random JSON values: equal wherever the input is
// I-JSON, and where it is not (lone surrogates, values JSON has no text for), exactly what §9.2
// says. 10,000 random values in CI; FUZZ_SCALE multiplies them (FUZZ_SCALE=10 is the plan's
// 100k), FUZZ_SEED replays a run.
import { describe, expect, test } from "bun:test";
import canonicalize from "canonicalize";
import fc from "fast-check";
import { canonicalJson } from "../../src/protocol/canonical-json.ts";

const RUNS = 10_000 * (Number(process.env.FUZZ_SCALE) || 1);
const SEED = Number(process.env.FUZZ_SEED) || undefined;

/** Numbers the plan names, RFC 8785's corner cases, and doubles of every size. */
const EDGE_NUMBERS = [0, -0, 1e21, 1e-7, 2 ** 53 + 1, 2 ** 53, -(2 ** 53), 5e-324, -5e-324, Number.MAX_VALUE, 1e-6, 123456789012345680000, 0.1 + 0.2];
const number = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.constantFrom(...EDGE_NUMBERS));
/** Code units from every range that sorts differently by code unit than by code point. */
const wellFormed = fc.string({ unit: fc.oneof(fc.constantFrom("a", "A", "é", "\u{1F600}", "\uff5a", "\u2028", "\u0000", "\u001f", '"', "\\", "/", "\u007f"), fc.string({ unit: "binary", minLength: 1, maxLength: 1 })) });
const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.constant(null),
    fc.boolean(),
    number,
    wellFormed,
    fc.array(tie("value"), { maxLength: 6 }),
    // Both prototypes JSON.parse-like code can hand over: Object.prototype and null.
    fc.dictionary(fc.oneof(wellFormed, fc.constantFrom("__proto__", "constructor", "toString")), tie("value"), { maxKeys: 6 }),
  ),
})).value;

/** The same value with every object's keys inserted in another order. */
function reordered(v: unknown, flip: boolean): unknown {
  if (Array.isArray(v)) return v.map((x) => reordered(x, flip));
  if (v === null || typeof v !== "object") return v;
  const keys = Object.keys(v);
  const out: Record<string, unknown> = Object.create(Object.getPrototypeOf(v));
  for (const k of flip ? keys.reverse() : keys.sort()) Object.defineProperty(out, k, { value: reordered((v as Record<string, unknown>)[k], flip), enumerable: true, writable: true, configurable: true });
  return out;
}

const property = (name: string, prop: fc.IProperty<[unknown]> | fc.IPropertyWithHooks<[unknown]>) =>
  test(name, () => fc.assert(prop, { numRuns: RUNS, seed: SEED }), 60_000);

describe("canonicalJson agrees with RFC 8785 (canonicalize)", () => {
  property(
    "on random I-JSON values",
    fc.property(json, (v) => canonicalJson(v) === canonicalize(v)),
  );
  property(
    "is independent of key order",
    fc.property(json, (v) => canonicalJson(reordered(v, true)) === canonicalJson(v) && canonicalJson(reordered(v, false)) === canonicalJson(v)),
  );
  property(
    "is idempotent: parsing its output and canonicalising again gives the same text",
    fc.property(json, (v) => canonicalJson(JSON.parse(canonicalJson(v))) === canonicalJson(v)),
  );

  test("numbers as ECMAScript writes them: the plan's cases and RFC 8785 Appendix B", () => {
    const plan: [number, string][] = [[1e21, "1e+21"], [1e-7, "1e-7"], [-0, "0"], [2 ** 53 + 1, "9007199254740992"], [JSON.parse("9007199254740993"), "9007199254740992"]];
    const appendixB: [string, string][] = [
      ["0000000000000000", "0"], ["8000000000000000", "0"], ["0000000000000001", "5e-324"], ["8000000000000001", "-5e-324"],
      ["7fefffffffffffff", "1.7976931348623157e+308"], ["ffefffffffffffff", "-1.7976931348623157e+308"], ["4340000000000000", "9007199254740992"],
      ["c340000000000000", "-9007199254740992"], ["4430000000000000", "295147905179352830000"], ["44b52d02c7e14af5", "9.999999999999997e+22"],
      ["44b52d02c7e14af6", "1e+23"], ["44b52d02c7e14af7", "1.0000000000000001e+23"], ["444b1ae4d6e2ef4e", "999999999999999700000"],
      ["444b1ae4d6e2ef4f", "999999999999999900000"], ["444b1ae4d6e2ef50", "1e+21"], ["3eb0c6f7a0b5ed8c", "9.999999999999997e-7"],
      ["3eb0c6f7a0b5ed8d", "0.000001"], ["41b3de4355555553", "333333333.3333332"], ["41b3de4355555554", "333333333.33333325"],
      ["41b3de4355555555", "333333333.3333333"], ["41b3de4355555556", "333333333.3333334"], ["41b3de4355555557", "333333333.33333343"],
      ["becbf647612f3696", "-0.0000033333333333333333"], ["43143ff3c1cb0959", "1424953923781206.2"],
    ];
    const fromBits = (hex: string) => Buffer.from(hex, "hex").readDoubleBE(0);
    const cases = [...plan, ...appendixB.map(([hex, text]): [number, string] => [fromBits(hex), text])];
    expect(cases.map(([n]) => [canonicalJson(n), canonicalJson([n]), canonicalize(n)])).toEqual(cases.map(([, text]) => [text, `[${text}]`, text]));
  });
});

describe("values outside I-JSON: what §9.2 says", () => {
  test("non-finite numbers are refused, as RFC 8785 refuses them", () => {
    for (const n of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(() => canonicalize({ n })).toThrow();
      expect(() => canonicalJson({ n })).toThrow("canonicalJson: non-finite number");
    }
  });

  test("a lone surrogate is written as its \\u escape, where RFC 8785 refuses the string", () => {
    // Names and reasons in audit payloads may hold one (their schemas allow any code unit), and
    // chains stored before this test hash it so: refusing it now would break those chains.
    const lone = fc.string({ unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 3 }).filter((s) => !s.isWellFormed());
    fc.assert(
      fc.property(lone, wellFormed, (s, t) => {
        const value = { [t]: s, s: [t + s + t] };
        const text = canonicalJson(value);
        expect(() => canonicalize(value)).toThrow("Lone surrogate");
        // Well-formed text (so its UTF-8 is exact) that reads back as the same value and text.
        expect(text.isWellFormed()).toBe(true);
        expect(JSON.parse(text)).toEqual(value);
        expect(canonicalJson(JSON.parse(text))).toBe(text);
      }),
      { numRuns: RUNS / 10, seed: SEED },
    );
    expect(canonicalJson(["\ud800", "\udfff\ud800", "\u{1F600}"])).toBe('["\\ud800","\\udfff\\ud800","\u{1F600}"]');
  });

  test("duplicate keys cannot reach it: JSON.parse keeps the last, and the value is what is canonical", () => {
    // Stored payloads are our own output (no duplicates); a row edited to repeat a key is read as
    // its last value, so the chain authenticates the value read, which is the one served.
    expect(canonicalJson(JSON.parse('{"b":1,"a":2,"b":3}'))).toBe('{"a":2,"b":3}');
  });

  test.each([
    ["undefined in an object", { a: undefined }, '{}'],
    ["undefined in an array", [undefined], "[null]"],
    ["a hole in an array", [1, , 2], "[1,null,2]"],
    ["a function", { f: () => 1 }, "{}"],
    ["a Date", { d: new Date(0) }, '{"d":"1970-01-01T00:00:00.000Z"}'],
    ["a Map", { m: new Map([["k", 1]]) }, '{"m":{}}'],
    ["a boxed number", [Object(1)], "[1]"],
    ["a byte array", { b: new Uint8Array([7]) }, '{"b":{"0":7}}'],
  ])("%s is refused, where canonicalize drops or converts it", (_, value, theirs) => {
    expect(canonicalize(value)).toBe(theirs);
    expect(() => canonicalJson(value)).toThrow(TypeError);
  });
});
