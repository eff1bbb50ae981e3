// Hostile HTTP requests for test/integration/fuzz-http.test.ts (docs/protocol.md §6): the
// `json http-body` examples of protocol.md mutated at the text level (frame-fuzz.ts's mutations),
// arbitrary JSON and text, bodies nested around the depth bound or not UTF-8; hostile path
// segments, query strings, Content-Type and header values; and `fuzzRoutes`, which sends them to
// a real broker and checks every answer.
import fc from "fast-check";
import { expect } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { TSchema } from "@sinclair/typebox";
import type { TestBroker } from "./broker.ts";
import { dbDigest } from "./db-digest.ts";
import { Value } from "@sinclair/typebox/value";
import { assertJsonDepth, unpairedSurrogateAt } from "../../src/protocol/codec.ts";
import { nameRule } from "../../src/protocol/fields.ts";
import { ERRORS, isErrorCode, type ErrorCode } from "../../src/protocol/errors.ts";
import { MAX_JSON_DEPTH } from "../../src/protocol/limits.ts";
import { requestCanonical } from "../../src/protocol/canonical.ts";
import { sha256Hex } from "../../src/crypto/hash.ts";
import { signDetached, type SigningKeypair } from "../../src/crypto/sign.ts";
import { mutated } from "./frame-fuzz.ts";
import { fencedBlocks } from "./markdown.ts";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type Body = Record<string, Json>;

/** The `json http-body <Schema>` examples of docs/protocol.md, by schema name. */
export function httpBodyExamples(): Record<string, Body> {
  const doc = readFileSync(join(import.meta.dir, "../../docs/protocol.md"), "utf8");
  const out: Record<string, Body> = {};
  for (const b of fencedBlocks(doc)) {
    const name = /^json http-body (\w+)$/.exec(b.info)?.[1];
    if (name) out[name] = JSON.parse(b.body) as Body;
  }
  return out;
}

/** A body a hostile or broken client could send in place of `seed`: mostly a text-level mutation
 *  of it, or the seed itself (so that the route's own checks meet the fuzzed path, query and
 *  headers), else an object of its fields with arbitrary values, a field nested around the depth bound,
 *  arbitrary JSON or arbitrary text (the empty body included). */
export function hostileBody(seed: Body): fc.Arbitrary<string> {
  const keys = Object.keys(seed);
  return fc.oneof(
    { weight: 8, arbitrary: mutated(seed) },
    { weight: 3, arbitrary: fc.constant(JSON.stringify(seed)) },
    { weight: 2, arbitrary: fc.dictionary(fc.constantFrom(...keys), fc.jsonValue({ maxDepth: 2 }), { maxKeys: keys.length + 1 }).map((o) => JSON.stringify(o)) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom(...keys), fc.integer({ min: MAX_JSON_DEPTH - 3, max: MAX_JSON_DEPTH + 3 }))
        .map(([k, n]) => JSON.stringify({ ...seed, [k]: "\u0001" }).replace('"\\u0001"', "[".repeat(n) + "]".repeat(n))),
    },
    { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 200 }) },
  );
}

/** `arb` once in `1 + none` draws, else undefined. */
export const sometimes = <T>(none: number, arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.oneof({ weight: none, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });

/** A body for a route that takes none: usually none, else arbitrary JSON or text. */
export const strayBody: fc.Arbitrary<string | undefined> = sometimes(3, fc.oneof(fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)), fc.string({ unit: "binary", maxLength: 100 })));

/** A path segment: invalid or odd percent-encoding, prototype names, over-long ids, non-ASCII
 *  (which fetch percent-encodes). No `/`, `\`, `?` or `#`, which would make it another path. */
export const hostileSegment: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("%", "%zz", "%00", "%2F", "%2e%2e", "%E2%82", "%ff", "%C0%AF", "%u0041", "__proto__", "constructor", "prototype", "toString", "null", "undefined", "-", "+", "x".repeat(65), "x".repeat(7000), "é", "💥"),
  fc.string({ unit: fc.constantFrom(..."aZ09_-.~%!$&'()*+,;=:@é"), minLength: 1, maxLength: 70 }),
);

const QUERY_KEYS = ["after", "after[]", "after[0]", "after[toString]", "toString", "__proto__", "__proto__[polluted]", "constructor[prototype][polluted]", "polluted", ""];
const queryValue = fc.oneof(
  fc.constantFrom("", "0", "1", "-1", "1e3", "0x10", "NaN", "1.5", "123456789012345", "9999999999999999", "%zz", "%", "%00", "polluted"),
  fc.string({ unit: fc.constantFrom(..."0123456789%azé&=+"), maxLength: 20 }),
);
/** A query string ("" or "?…"): repeated keys, prototype names, bad percent-encoding. */
export const hostileQuery: fc.Arbitrary<string> = fc
  .array(fc.tuple(fc.constantFrom(...QUERY_KEYS), queryValue), { maxLength: 4 })
  .map((pairs) => (pairs.length === 0 ? "" : `?${pairs.map(([k, v]) => `${k}=${v}`).join("&")}`));

/** A header value fetch will send (visible ASCII: it refuses control characters). */
export const hostileHeaderValue: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("", "null", "__proto__", "constructor", "Bearer", "Bearer __proto__", "Bearer cmo_", "x".repeat(4000), "%zz", "1e309", "-0", "-1", "1.5", "9007199254740993", "00001767225600000", "a=b; a=c", "cm_dashboard=; cm_dashboard=x", "__proto__=x"),
  fc.string({ unit: fc.mapToConstant({ num: 95, build: (i) => String.fromCharCode(0x20 + i) }), maxLength: 100 }),
);

/** Replacements for some of `names` (null removes the header); usually none. */
export function headerPatch(names: readonly string[]): fc.Arbitrary<Record<string, string | null>> {
  if (names.length === 0) return fc.constant({});
  const one = fc.tuple(fc.constantFrom(...names), fc.option(hostileHeaderValue, { nil: null }));
  return fc.oneof({ weight: 3, arbitrary: fc.constant({}) }, { weight: 2, arbitrary: fc.array(one, { minLength: 1, maxLength: 2 }).map((e) => Object.fromEntries(e)) });
}

/** Content-Type values: the parser ignores the header, so each must be answered alike. */
export const contentType: fc.Arbitrary<string | null> = fc.oneof(
  { weight: 4, arbitrary: fc.constant("application/json") },
  { weight: 1, arbitrary: fc.constantFrom(null, "", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "APPLICATION/JSON; charset=utf-8", "application/jsonx", "application/json;", "application/octet-stream") },
);

/** What the checks before any route (§6.1) answer for `text` against `schema` (none: the route
 *  takes no body, and ignores one that passes): too_deep, invalid_json, invalid_argument, invalid_name, or null
 *  when the body passes them. */
export function edgeVerdict(body: string | Uint8Array | undefined, schema: TSchema | undefined): ErrorCode | null {
  let text: string | undefined;
  try {
    text = typeof body === "object" ? new TextDecoder("utf-8", { fatal: true }).decode(body) : body;
  } catch {
    return "invalid_json";
  }
  let value: unknown;
  if (text !== undefined && text !== "") {
    try {
      assertJsonDepth(text);
    } catch {
      return "too_deep";
    }
    try {
      value = JSON.parse(text);
    } catch {
      return "invalid_json";
    }
  }
  // A `toString` field is refused on every route, before the schema (src/broker/http/app.ts).
  // So is a lone surrogate in any string (src/broker/http/body.ts).
  if (hasToString(value) || (text !== undefined && unpairedSurrogateAt(text, value) !== null)) return "invalid_argument";
  if (!schema || Value.Check(schema, value)) return null;
  // A refused name has a code of its own (src/broker/http/errors.ts), when it is the first error.
  return nameRule(Value.Errors(schema, value).First()) === null ? "invalid_argument" : "invalid_name";
}

const hasToString = (v: unknown): boolean => v !== null && typeof v === "object" && Object.entries(v).some(([k, c]) => k === "toString" || hasToString(c));

/** An invalid UTF-8 byte (a lone continuation, a truncated lead, a surrogate's lead, 0xff) to
 *  write over the body's byte at some position. */
export const badByte = fc.tuple(fc.nat(), fc.constantFrom(0x80, 0xc3, 0xed, 0xff));

/** `text` as UTF-8 with the byte at `at` (modulo its length) replaced by `byte`. */
export function withBadByte(text: string, [at, byte]: [number, number]): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(Buffer.from(text));
  if (bytes.length > 0) bytes[at % bytes.length] = byte;
  return bytes;
}

export type Answer = { status: number; headers: Headers; text: string };

export async function send(url: string, method: string, body: string | Uint8Array<ArrayBuffer> | undefined, headers: Record<string, string>): Promise<Answer> {
  const res = await fetch(url, { method, headers, ...(body === undefined ? {} : { body }), redirect: "manual" });
  // A live event stream never ends by itself: its status and headers are the answer.
  if (res.headers.get("content-type")?.startsWith("text/event-stream")) {
    await res.body?.cancel();
    return { status: res.status, headers: res.headers, text: "" };
  }
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** Checks that `a` is a refusal as §6.1 gives it — a JSON `{error: {code, message, retryable}}`
 *  with a code of the catalog, its status and retryability, never `internal` — and returns the code. */
export function refusalCode(a: Answer): ErrorCode {
  expect(a.headers.get("content-type") ?? "").toStartWith("application/json");
  const body = JSON.parse(a.text) as { error: { code: string; message: string; retryable: boolean } };
  expect(body).toEqual({ error: { code: expect.any(String), message: expect.any(String), retryable: expect.any(Boolean) } });
  const code = body.error.code;
  expect(isErrorCode(code)).toBe(true);
  expect({ code, status: a.status, retryable: body.error.retryable }).toEqual({ code, status: ERRORS[code as ErrorCode].http, retryable: ERRORS[code as ErrorCode].retryable });
  expect(code).not.toBe("internal");
  if (code === "method_not_allowed") expect(a.headers.get("allow")).toBeTruthy();
  return code as ErrorCode;
}

/** The X-Claudemesh-* headers of a request signed by `keys` over the exact body text (§6.2). */
export function signedHeaders(method: string, path: string, text: string, keys: SigningKeypair): Record<string, string> {
  const ts = Date.now();
  const signature = signDetached(requestCanonical(method, path, ts, sha256Hex(text)), keys.secretKey);
  return { "x-claudemesh-pubkey": keys.publicKey, "x-claudemesh-timestamp": String(ts), "x-claudemesh-signature": signature };
}

/** One route under fuzz. `live` puts the live values into the body where the example's are still
 *  there and adds the headers a well-behaved client sends; `headers` are those fuzzed on top. */
export type Route = {
  method: string;
  path: (segment: string) => string;
  /** The live path segment, when the path has one. */
  segment?: string;
  schema?: TSchema;
  body?: fc.Arbitrary<string | undefined>;
  live?: (body: string | undefined) => { body?: string; headers?: Record<string, string> };
  headers?: readonly string[];
  ok: readonly number[];
  /** The refusals the route documents past §6.1's checks. */
  codes: readonly ErrorCode[];
  /** Refusals that may come after the request's signature was recorded against replay. */
  afterSignature?: readonly ErrorCode[];
  /** Reads: not even a success may change the database. */
  readOnly?: boolean;
};

/** `text` with each example value replaced (as JSON) by the live one. */
export const swap = (text: string | undefined, pairs: [unknown, unknown][]) => pairs.reduce((t, [from, to]) => t?.replaceAll(JSON.stringify(from), JSON.stringify(to)), text);

/** A hostile segment that stays one: fetch resolves `.`, `..` and their encodings into another path. */
const segment = hostileSegment.filter((s) => !/^(\.|%2e){1,2}$/i.test(s));

function request(r: Route) {
  return fc.record({
    body: r.body ?? fc.constant(undefined),
    segment: r.segment === undefined ? fc.constant(undefined) : sometimes(3, segment),
    query: sometimes(4, hostileQuery),
    type: contentType,
    forwardedFor: fc.ipV4(),
    badByte: sometimes(12, badByte),
    patch: headerPatch([...(r.headers ?? []), "x-forwarded-for"]),
  });
}

/** The replay table: a signed request may be recorded there and still refused (§6.3, §6.4). */
const REPLAY_TABLE = ["seen_signatures"];

export type Tally = { ok: number; codes: Partial<Record<ErrorCode, number>> };

/** Sends `numRuns` hostile requests to `routes` of `b`, each "from" its own client address (`b`
 *  trusts the loopback proxy). Every answer is a success of its route or a refusal (refusalCode)
 *  with exactly the code of §6.1's checks when the body fails them, else one of the route's; a
 *  refusal changes nothing in the database (but the replay table, for `afterSignature`), a read
 *  nothing at all; nothing reaches Object.prototype; the broker is up at the end. */
export async function fuzzRoutes(b: TestBroker, routes: Record<string, Route>, numRuns: number, seed?: number): Promise<Tally> {
  const tally: Tally = { ok: 0, codes: {} };
  const prototypeKeys = Object.getOwnPropertyNames(Object.prototype);
  // The database as the last request left it (one digest per request: the database grows).
  const replayWrites = Object.values(routes).some((r) => r.afterSignature);
  const snapshot = () => ({ all: dbDigest(b), noReplay: replayWrites ? dbDigest(b, REPLAY_TABLE) : "" });
  let db = snapshot();
  // The route by name, so that a counterexample reads as one.
  const input = fc.constantFrom(...Object.keys(routes)).chain((route) => request(routes[route]!).map((i) => ({ route, ...i })));
  await fc.assert(
    fc.asyncProperty(input, async (i) => {
      const r = routes[i.route]!;
      const live = r.live?.(i.body) ?? { body: i.body };
      const headers: Record<string, string> = { "x-forwarded-for": i.forwardedFor, ...(i.type === null ? {} : { "content-type": i.type }), ...live.headers };
      for (const [name, value] of Object.entries(i.patch)) {
        if (value === null) delete headers[name];
        else headers[name] = value;
      }
      // Bytes that are not UTF-8 are refused before the route sees them (invalid_json).
      const body = live.body !== undefined && i.badByte ? withBadByte(live.body, i.badByte) : live.body;
      const a = await send(`${b.url}${r.path(i.segment ?? r.segment ?? "")}${i.query ?? ""}`, r.method, body, headers);
      expect(Object.getOwnPropertyNames(Object.prototype)).toEqual(prototypeKeys);
      const edge = edgeVerdict(body, r.schema);
      if (edge === null && r.ok.includes(a.status)) {
        tally.ok++;
        if (r.readOnly) expect(dbDigest(b)).toBe(db.all);
        else db = snapshot();
        return;
      }
      const code = refusalCode(a);
      tally.codes[code] = (tally.codes[code] ?? 0) + 1;
      expect(edge === null ? r.codes : [edge]).toContain(code);
      if (edge !== null || !r.afterSignature?.includes(code)) return expect(dbDigest(b)).toBe(db.all);
      const after = snapshot();
      expect(after.noReplay).toBe(db.noReplay);
      db = after;
    }),
    { numRuns, endOnFailure: true, seed },
  );
  expect((await fetch(`${b.url}/health`)).status).toBe(200);
  return tally;
}
