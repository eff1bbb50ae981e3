// parseBody (src/broker/http/body.ts, docs/protocol.md §6.1): a body with no field named
// `toString` parses as JSON.parse parses it; one with such a field anywhere is a 400
// invalid_argument naming a path that leads to one. FUZZ_SEED replays a run.
import { expect, test } from "bun:test";
import fc from "fast-check";
import { MeshError } from "../../src/protocol/errors.ts";
import { parseBody } from "../../src/broker/http/body.ts";

/** JSON values, objects as their key-value pairs (duplicates allowed) with few keys, so that
 *  `toString` (also spelt with an escape) is often among them, at any depth. */
type Value = null | number | string | boolean | Value[] | { pairs: [string, Value][] };
const key = fc.constantFrom("toString", "to\\u0053tring", "", "a", "0", "__proto__");
const { value } = fc.letrec<{ value: Value }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.constantFrom(null, 1, "x", true),
    fc.array(tie("value"), { maxLength: 3 }),
    fc.array(fc.tuple(key, tie("value")), { maxLength: 3 }).map((pairs) => ({ pairs })),
  ),
}));
const text = (v: Value): string =>
  Array.isArray(v) ? `[${v.map(text).join(",")}]` : v !== null && typeof v === "object" ? `{${v.pairs.map(([k, x]) => `"${k}":${text(x)}`).join(",")}}` : JSON.stringify(v);

/** Whether a parsed value has an own field named `toString` at any depth. */
const hasToString = (v: unknown): boolean => v !== null && typeof v === "object" && Object.entries(v).some(([k, c]) => k === "toString" || hasToString(c));

/** What parseBody gives: the parsed body, or the error's code and the path its message names. */
function outcome(body: string): { body: unknown } | { code: string; path: string } {
  try {
    return { body: parseBody(body) };
  } catch (err) {
    const e = err as MeshError;
    return { code: e.code, path: /^Invalid request: (.*): unexpected property$/.exec(e.message)?.[1] ?? e.message };
  }
}

test("cases", () => {
  expect(outcome('{"a":[1,{"b":2}]}')).toEqual({ body: { a: [1, { b: 2 }] } });
  expect(outcome('{"meshId":{"toString":1}}')).toEqual({ code: "invalid_argument", path: "/meshId/toString" });
  expect(outcome('[{"a":{"to\\u0053tring":"x"}}]')).toEqual({ code: "invalid_argument", path: "/0/a/toString" });
  expect(outcome('{"":{"toString":null}}')).toEqual({ code: "invalid_argument", path: "//toString" });
  expect(outcome('{"toString":1,"a":2}')).toEqual({ code: "invalid_argument", path: "/toString" });
  expect(outcome("{")).toMatchObject({ code: "invalid_json" });
  expect(outcome('{"summary":"a \\ud800 b"}')).toMatchObject({ code: "invalid_argument", path: expect.stringContaining("/summary: a string with an unpaired UTF-16 surrogate") });
  expect(outcome('{"s":"\\ud83d\\ude00"}')).toEqual({ body: { s: "\u{1F600}" } });
  expect(outcome("[".repeat(40) + "]".repeat(40))).toMatchObject({ code: "too_deep" });
});

test("a body parses as JSON.parse parses it unless a toString field is in it, and the path named leads to one", () => {
  fc.assert(
    fc.property(value, (v) => {
      const body = text(v);
      const parsed: unknown = JSON.parse(body);
      const got = outcome(body);
      if (!hasToString(parsed)) return Bun.deepEquals(got, { body: parsed }, true);
      if (!("path" in got) || got.code !== "invalid_argument") return false;
      const keys = got.path.split("/").slice(1);
      let at: unknown = parsed;
      for (const k of keys.slice(0, -1)) at = (at as Record<string, unknown>)[k];
      return keys.at(-1) === "toString" && at !== null && typeof at === "object" && Object.hasOwn(at, "toString");
    }),
    { numRuns: 2_000, seed: Number(process.env.FUZZ_SEED) || undefined },
  );
});
