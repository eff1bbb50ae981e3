// Hostile client frames for the fuzz tests (docs/protocol.md §4.1, reliability plan T12): the
// client examples of protocol.md, mutated at the text level — a field dropped, retyped, made
// over-long, a key injected (`__proto__`, a repeated key before or after the real one), special
// numbers, lone surrogates and NUL, truncation — plus arbitrary JSON and arbitrary text.
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { decodeClientFrame, recoverRequestId } from "../../src/protocol/codec.ts";
import { MeshError } from "../../src/protocol/errors.ts";
import { fencedBlocks } from "./markdown.ts";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Path = (string | number)[];

/** Every `json frame client` example of docs/protocol.md, parsed. */
export function clientExamples(): Record<string, Json>[] {
  const doc = readFileSync(join(import.meta.dir, "../../docs/protocol.md"), "utf8");
  return fencedBlocks(doc)
    .filter((b) => b.info === "json frame client")
    .map((b) => JSON.parse(b.body) as Record<string, Json>);
}

/** Values written into a frame as raw JSON text, where JSON.stringify could not produce them
 *  (1e309 parses to Infinity, 2^53+1 loses precision) or where they probe the string checks. */
const RAW_VALUES = [
  "1e309", "-1e309", "-0", "9007199254740993", "-1", "0.5", "1e-400", "null", "true", "[]", "{}", '""',
  '"\\u0000"', '"\\ud800"', '"\\udfff\\ud800"', '"x\\u0000y"', '"\\u202e"', '[[[[[[[[]]]]]]]]',
  '{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"polluted":1}}}', '{"toString":1}',
];
const SPECIAL_KEYS = ["__proto__", "constructor", "prototype", "type", "id", "", "toString", "hasOwnProperty"];

/** Paths to every value of `v` down to depth 2 (the frames' fields and their members). */
function paths(v: Json, depth = 0, at: Path = []): Path[] {
  if (depth === 2 || v === null || typeof v !== "object") return [at];
  const keys: (string | number)[] = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
  return [at, ...keys.flatMap((k) => paths((v as Record<string | number, Json>)[k]!, depth + 1, [...at, k]))];
}

/** The frame as JSON text with the value at `path` replaced by raw text (or removed). */
function withRaw(frame: Json, path: Path, raw: string | null): string {
  const SENTINEL = "\u0001fuzz\u0001";
  const copy = structuredClone(frame) as Record<string | number, Json>;
  let parent: Record<string | number, Json> = copy;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, Json>;
  const last = path[path.length - 1]!;
  if (raw === null) {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
    return JSON.stringify(copy);
  }
  parent[last] = SENTINEL;
  return JSON.stringify(copy).replace(JSON.stringify(SENTINEL), raw);
}

const rawValue = fc.oneof(fc.constantFrom(...RAW_VALUES), fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)));
/** Strings around the schema bounds and the 64 KiB frame limit, in UTF-8 bytes of frame text
 *  (an escape counts as the six bytes it takes); the largest frame stays well under 4 × the
 *  limit, where the WebSocket layer closes the socket (1009) instead of the broker answering. */
const longString = fc
  .tuple(fc.constantFrom(63, 64, 65, 200, 257, 1025, 4097, 65_537), fc.constantFrom("x", "é", "💥", "\\u0000", "0"))
  .map(([bytes, ch]) => `"${ch.repeat(Math.ceil(bytes / Buffer.byteLength(ch)))}"`);

/** One mutation of one example (a frame, or an HTTP body), as the text to send. */
export function mutated(seed: Record<string, Json>): fc.Arbitrary<string> {
  const fieldPaths = paths(seed).filter((p) => p.length > 0);
  const text = JSON.stringify(seed);
  const path = fc.constantFrom(...fieldPaths);
  return fc.oneof(
    path.map((p) => withRaw(seed, p, null)),
    fc.tuple(path, rawValue).map(([p, raw]) => withRaw(seed, p, raw)),
    fc.tuple(path, longString).map(([p, raw]) => withRaw(seed, p, raw)),
    fc.tuple(fc.constantFrom(...SPECIAL_KEYS), rawValue, fc.boolean()).map(([k, raw, first]) =>
      first ? `{${JSON.stringify(k)}:${raw},${text.slice(1)}` : `${text.slice(0, -1)},${JSON.stringify(k)}:${raw}}`,
    ),
    fc.nat({ max: text.length - 1 }).map((n) => text.slice(0, n)),
    fc.tuple(fc.nat({ max: text.length - 1 }), fc.string({ unit: "binary", minLength: 1, maxLength: 3 })).map(
      ([i, s]) => text.slice(0, i) + s + text.slice(i + 1),
    ),
  );
}

/** Any client frame text a hostile or broken client could send. */
export function hostileFrame(seeds: Record<string, Json>[]): fc.Arbitrary<string> {
  const types = [...new Set(seeds.map((s) => String(s.type)))];
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...seeds).chain(mutated) },
    { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 200 }) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom(...types), fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }))
        .map(([type, rest]) => JSON.stringify({ ...rest, type })),
    },
  );
}

/** What the broker must answer for a frame in the ready state: the decoder's own verdict. */
export type Verdict = { valid: true } | { valid: false; code: string; id: string | number | undefined };

export function verdict(text: string, maxBytes?: number): Verdict {
  try {
    decodeClientFrame(text, maxBytes);
    return { valid: true };
  } catch (err) {
    if (!(err instanceof MeshError)) throw err;
    return { valid: false, code: err.code, id: recoverRequestId(text, maxBytes) };
  }
}
