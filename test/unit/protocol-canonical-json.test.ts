// Pins docs/protocol.md §9: canonical JSON (sorted keys by UTF-16 code units, arrays in order,
// non-JSON values refused) and the audit chain's hash and verification.
import { describe, expect, test } from "bun:test";
import { canonicalJson } from "../../src/protocol/canonical-json.ts";
import { auditHash, GENESIS, verifyChain, type ChainEntry } from "../../src/protocol/audit-chain.ts";

const MESH = "mesh_T3stVect0r";

/** A valid chain built with the real hash function. */
function chain(payloads: unknown[]): ChainEntry[] {
  let prev = GENESIS;
  return payloads.map((payload, i) => {
    const createdAt = new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString();
    const actor = i === 0 ? null : "mbr_owner_0001";
    const hash = auditHash(prev, MESH, "grant_changed", actor, payload, createdAt);
    const e = { seq: i + 1, meshId: MESH, eventType: "grant_changed", actor, payload, createdAt, prevHash: prev, hash };
    prev = hash;
    return e;
  });
}

describe("canonicalJson", () => {
  test("key order does not matter", () => {
    expect(canonicalJson({ b: 1, a: 2, c: { y: 1, x: 2 } })).toBe(canonicalJson({ c: { x: 2, y: 1 }, a: 2, b: 1 }));
    expect(canonicalJson({ b: 1, a: 2 })).toBe('{"a":2,"b":1}');
  });

  test("array order matters", () => {
    expect(canonicalJson([1, 2])).toBe("[1,2]");
    expect(canonicalJson([2, 1])).toBe("[2,1]");
    expect(canonicalJson({ caps: ["dm", "topic"] })).not.toBe(canonicalJson({ caps: ["topic", "dm"] }));
  });

  test("nested objects are sorted at every level, inside arrays too", () => {
    expect(canonicalJson({ z: { b: [{ d: 1, c: 2 }], a: null }, y: true })).toBe('{"y":true,"z":{"a":null,"b":[{"c":2,"d":1}]}}');
  });

  test("keys sort by UTF-16 code units, not code points", () => {
    // U+1F600 is the surrogate pair D83D DE00, which sorts before U+FF5A although its code point is larger.
    expect(canonicalJson({ "\uff5a": 1, "\u{1F600}": 2, é: 3, Z: 4, a: 5, "": 6 })).toBe(`{"":6,"Z":4,"a":5,"é":3,"\u{1F600}":2,"\uff5a":1}`);
  });

  test("strings and numbers are written as JSON.stringify writes them", () => {
    expect(canonicalJson({ s: 'q"\\\n\u0001é', n: [1.5, -0, 1e21, 0.1, -3] })).toBe(`{"n":[1.5,0,1e+21,0.1,-3],"s":"q\\"\\\\\\n\\u0001é"}`);
    expect(canonicalJson([true, false, null, "", {}, []])).toBe('[true,false,null,"",{},[]]');
  });

  test.each([
    ["NaN", { a: Number.NaN }],
    ["Infinity", [Number.POSITIVE_INFINITY]],
    ["-Infinity", { a: { b: Number.NEGATIVE_INFINITY } }],
    ["undefined", { a: undefined }],
    ["a function", { f: () => 1 }],
    ["a bigint", { n: 1n }],
  ])("%s is refused, never dropped", (_, value) => {
    expect(() => canonicalJson(value)).toThrow(TypeError);
  });

  test("hostile nesting is refused without a RangeError", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expect(() => canonicalJson(deep)).toThrow(TypeError);
  });
});

describe("audit hash", () => {
  test("is sha256 of prev|meshId|eventType|actor|canonicalJson(payload)|createdAt", () => {
    const line = `genesis|${MESH}|topic_created|null|{"name":"deploys"}|2026-01-01T00:00:00.000Z`;
    const expected = new Bun.CryptoHasher("sha256").update(line).digest("hex");
    expect(auditHash(GENESIS, MESH, "topic_created", null, { name: "deploys" }, "2026-01-01T00:00:00.000Z")).toBe(expected);
  });

  test("key order of the payload does not change the hash; any value change does", () => {
    const h = (payload: unknown, actor: string | null = "m1234567") => auditHash(GENESIS, MESH, "grant_changed", actor, payload, "2026-01-01T00:00:00.000Z");
    const base = h({ sender: "k", caps: ["dm"], recipient: "r" });
    expect(h({ recipient: "r", caps: ["dm"], sender: "k" })).toBe(base);
    expect(h({ sender: "k", caps: ["dm", "topic"], recipient: "r" })).not.toBe(base);
    expect(h({ sender: "k", caps: ["dm"], recipient: "s" })).not.toBe(base);
    expect(h({ sender: "k", caps: ["dm"], recipient: "r" }, null)).not.toBe(base);
    // The literal actor "null" and a null actor are the same line: actors are member ids, which are 8+ characters.
    expect(h({ sender: "k", caps: ["dm"], recipient: "r" }, null)).toBe(h({ sender: "k", caps: ["dm"], recipient: "r" }, "null"));
  });
});

describe("verifyChain", () => {
  const payloads = [{ slug: "a" }, { caps: ["dm"] }, { epoch: 2 }, { inviteId: "inv_T3stVect0r" }, { name: "deploys" }];

  test("accepts an intact chain and an empty one", () => {
    const c = chain(payloads);
    expect(verifyChain(c)).toEqual({ valid: true, entries: 5, head: c[4]!.hash, brokenAt: null, reason: null });
    expect(verifyChain([])).toEqual({ valid: true, entries: 0, head: GENESIS, brokenAt: null, reason: null });
  });

  test("a walk may continue from a verified prefix: counts and seqs are of the whole chain", () => {
    const c = chain(payloads);
    expect(verifyChain(c.slice(2), { seq: 2, hash: c[1]!.hash })).toEqual(verifyChain(c));
    expect(verifyChain([], { seq: 5, hash: c[4]!.hash })).toEqual(verifyChain(c));
    // The prefix's hash must be the one the next entry links to, and its seq the one before it.
    expect(verifyChain(c.slice(2), { seq: 2, hash: c[0]!.hash })).toEqual({ valid: false, entries: 5, head: c[0]!.hash, brokenAt: 3, reason: "prev_hash does not match the previous entry's hash" });
    expect(verifyChain(c.slice(2), { seq: 1, hash: c[1]!.hash })).toMatchObject({ valid: false, brokenAt: 3, reason: "expected seq 2, found 3" });
  });

  test("an edited payload breaks at that entry", () => {
    const c = chain(payloads);
    c[2] = { ...c[2]!, payload: { epoch: 3 } };
    expect(verifyChain(c)).toEqual({ valid: false, entries: 5, head: c[1]!.hash, brokenAt: 3, reason: "hash does not match the entry's contents" });
  });

  test("an edited payload with a recomputed hash breaks at the next entry", () => {
    const c = chain(payloads);
    const e = c[1]!;
    c[1] = { ...e, payload: { caps: [] }, hash: auditHash(e.prevHash, e.meshId, e.eventType, e.actor, { caps: [] }, e.createdAt) };
    expect(verifyChain(c)).toMatchObject({ valid: false, brokenAt: 3, reason: "prev_hash does not match the previous entry's hash" });
  });

  test("a removed entry breaks at the entry after the gap", () => {
    const c = chain(payloads);
    c.splice(1, 1);
    expect(verifyChain(c)).toEqual({ valid: false, entries: 4, head: c[0]!.hash, brokenAt: 3, reason: "expected seq 2, found 3" });
  });

  test("a removed entry with renumbered seqs still breaks at the same place", () => {
    const c = chain(payloads);
    c.splice(1, 1);
    const renumbered = c.map((e, i) => ({ ...e, seq: i + 1 }));
    expect(verifyChain(renumbered)).toMatchObject({ valid: false, brokenAt: 2, reason: "prev_hash does not match the previous entry's hash" });
  });

  test("a swapped pair breaks at the first swapped position", () => {
    const c = chain(payloads);
    [c[2], c[3]] = [c[3]!, c[2]!];
    expect(verifyChain(c)).toEqual({ valid: false, entries: 5, head: c[1]!.hash, brokenAt: 4, reason: "expected seq 3, found 4" });
    const renumbered = c.map((e, i) => ({ ...e, seq: i + 1 }));
    expect(verifyChain(renumbered)).toMatchObject({ valid: false, brokenAt: 3, reason: "prev_hash does not match the previous entry's hash" });
  });

  test("a first entry that does not link to genesis is broken at seq 1", () => {
    const c = chain(payloads);
    c[0] = { ...c[0]!, prevHash: "0".repeat(64) };
    expect(verifyChain(c)).toMatchObject({ valid: false, head: GENESIS, brokenAt: 1 });
  });

  test("a payload that cannot be canonicalised is reported, not thrown", () => {
    const c = chain(payloads);
    c[4] = { ...c[4]!, payload: { n: Number.NaN } };
    expect(verifyChain(c)).toMatchObject({ valid: false, brokenAt: 5, reason: "payload cannot be canonicalised" });
  });
});
