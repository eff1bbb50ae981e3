// Pins the pieces around the envelope: the inner payload's one encoding (src/crypto/inner.ts), the
// purpose keys (mesh-keys.ts), the ReplayGuard (reliability.md T17) and crypto/'s copies of protocol
// definitions, which must not drift from src/protocol.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { attestationCanonical } from "../../src/crypto/attestation.ts";
import { toHex } from "../../src/crypto/encoding.ts";
import { GROUP_RE, ID_RE, PUBKEY_RE, SIGNATURE_RE, TOPIC_RE, isTarget } from "../../src/crypto/fields.ts";
import { encodeInner, parseInner, type InnerFields } from "../../src/crypto/inner.ts";
import { newMeshKey, purposeKey, purposeLabel } from "../../src/crypto/mesh-keys.ts";
import { ReplayGuard } from "../../src/crypto/replay-guard.ts";
import { attestationCanonical as protocolAttestationCanonical } from "../../src/protocol/canonical.ts";
import * as F from "../../src/protocol/fields.ts";

const A = "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c";
const B = "ca93ac1705187071d67b83c7ff0efe8108e8ec4530575d7726879333dbdabe7c";
const base: InnerFields = { mesh: "mesh_T3stVect0r", from: A, to: B, id: "cm_01JG8Z4W6YQ3", ts: 1767225600121, kind: "text", body: "what does /orders return?" };

describe("inner payload", () => {
  test("one encoding: fixed key order, optional keys omitted or last", () => {
    expect(encodeInner(base)).toBe(
      `{"v":1,"mesh":"mesh_T3stVect0r","from":"${A}","to":"${B}","id":"cm_01JG8Z4W6YQ3","ts":1767225600121,"kind":"text","body":"what does /orders return?"}`,
    );
    const att = { signature: "ab".repeat(64), expiresAt: 1, parentMemberPubkey: A, sessionPubkey: B };
    const json = encodeInner({ ...base, att, replyTo: "Vb3k9QmZP1xR7tLwYc2hNA" });
    expect(json.endsWith(`"replyTo":"Vb3k9QmZP1xR7tLwYc2hNA","att":{"sessionPubkey":"${B}","parentMemberPubkey":"${A}","expiresAt":1,"signature":"${"ab".repeat(64)}"}}`)).toBe(true);
    expect(parseInner(json)).toEqual({ v: 1, ...base, att, replyTo: "Vb3k9QmZP1xR7tLwYc2hNA" });
  });

  test("round-trips any valid body", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 2000 }), (body) => expect(parseInner(encodeInner({ ...base, body }))).toEqual({ v: 1, ...base, body })));
  });

  const json = encodeInner(base);
  test.each([
    ["another key order", json.replace('{"v":1,"mesh":"mesh_T3stVect0r",', '{"mesh":"mesh_T3stVect0r","v":1,')],
    ["an extra key", json.replace(/}$/, ',"x":1}')],
    ["a duplicate key", json.replace('"v":1,', '"v":1,"v":1,')],
    ["a missing key", json.replace(',"kind":"text"', "")],
    ["whitespace", json.replace('"v":1,', '"v": 1,')],
    ["another escaping", json.replace("/orders", "\\/orders")],
    ["version 2", json.replace('"v":1', '"v":2')],
    ["a float timestamp", json.replace("1767225600121", "1767225600121.5")],
    ["a `|` in the mesh id", json.replace("mesh_T3stVect0r", "mesh|T3stVect0r")],
    ["an unknown kind", json.replace('"kind":"text"', '"kind":"html"')],
    ["an uppercase key", json.replace(A, A.toUpperCase())],
    ["a null replyTo", json.replace(/}$/, ',"replyTo":null}')],
    ["an array", `[${json}]`],
    ["not JSON", json.slice(0, -1)],
  ])("rejects %s", (_, text) => {
    expect(parseInner(text)).toBeNull();
  });

  test("bounds the body at 64 KiB of UTF-8", () => {
    expect(() => encodeInner({ ...base, body: "é".repeat(32 * 1024) })).not.toThrow();
    expect(() => encodeInner({ ...base, body: "é".repeat(32 * 1024 + 1) })).toThrow(TypeError);
  });
});

describe("purpose keys", () => {
  const key = new Uint8Array(32).map((_, i) => i);

  test("BLAKE2b-256 keyed by the mesh key over the target's label (vectors from Python's hashlib.blake2b)", () => {
    expect(purposeLabel("*")).toBe("claudemesh-broadcast-v1");
    expect(purposeLabel("@front/end")).toBe("claudemesh-group-v1|front/end");
    expect(purposeLabel("#deploys")).toBe("claudemesh-topic-v1|deploys");
    expect(["*", "@backend", "#deploys"].map((t) => toHex(purposeKey(key, t)))).toEqual([
      "c90f0892d2c2c6b07b483bf55891f0dcbc900d94bb27e804628948cf64a329c8",
      "70737d8fc90a3ae52745cf80f732ac01eb38d4fe46bf9945a2a8b8a54f9663c2",
      "2da059524817a2d4c8fa183f68f5fed1453dca1831ec5479ac4c3e9620b03e08",
    ]);
  });

  test("every target and every epoch key gives a different key", () => {
    const targets = ["*", "@a", "#a", "@b", "#b", "@deploys", "#deploys"];
    const other = newMeshKey();
    const all = [key, other].flatMap((k) => targets.map((t) => toHex(purposeKey(k, t))));
    expect(new Set(all).size).toBe(all.length);
  });

  test("refuses keys of the wrong length and invalid targets", () => {
    expect(() => purposeKey(new Uint8Array(31), "*")).toThrow(TypeError);
    for (const t of ["", "**", "#", "@", "#A", "#a|b", "@a|b", B, "general"]) expect(() => purposeKey(key, t)).toThrow(TypeError);
  });
});

describe("ReplayGuard", () => {
  test("accepts a pair once and refuses its repeat; other senders and ids are independent", () => {
    const g = new ReplayGuard("mesh_T3stVect0r");
    expect([g.check(A, "cm_00000001"), g.check(A, "cm_00000001"), g.check(B, "cm_00000001"), g.check(A, "cm_00000002")]).toEqual([true, false, true, true]);
    expect(g.check("bad", "cm_00000003")).toBe(false);
    expect(g.check(A, "a|b")).toBe(false);
  });

  test("forgets the oldest pairs past its bound", () => {
    const g = new ReplayGuard("mesh_T3stVect0r", { maxEntries: 3 });
    for (const id of ["cm_0000000a", "cm_0000000b", "cm_0000000c", "cm_0000000d"]) expect(g.check(A, id)).toBe(true);
    expect([g.size, g.has(A, "cm_0000000a"), g.has(A, "cm_0000000d")]).toEqual([3, false, true]);
  });

  test("export and import keep every pair and its order", () => {
    const g = new ReplayGuard("mesh_T3stVect0r");
    for (let i = 0; i < 50; i++) g.check(i % 2 ? A : B, `cm_${String(i).padStart(8, "0")}`);
    const text = g.exportJson();
    const back = ReplayGuard.importJson(text, "mesh_T3stVect0r");
    expect(back.exportJson()).toBe(text);
    expect(back.check(B, "cm_00000000")).toBe(false);
    expect(ReplayGuard.importJson(text, "mesh_T3stVect0r", { maxEntries: 10 }).has(B, "cm_00000000")).toBe(false);
  });

  test.each([
    ["not JSON", "{"],
    ["another mesh", '{"v":1,"mesh":"mesh_0therMesh","seen":[]}'],
    ["another version", '{"v":2,"mesh":"mesh_T3stVect0r","seen":[]}'],
    ["a malformed entry", `{"v":1,"mesh":"mesh_T3stVect0r","seen":[["${A}"]]}`],
    ["a repeated entry", `{"v":1,"mesh":"mesh_T3stVect0r","seen":[["${A}","cm_00000001"],["${A}","cm_00000001"]]}`],
  ])("import refuses %s", (_, text) => {
    expect(() => ReplayGuard.importJson(text, "mesh_T3stVect0r")).toThrow(TypeError);
  });
});

describe("crypto/ copies of protocol definitions", () => {
  test("the attestation canonical string equals the protocol's", () => {
    fc.assert(fc.property(fc.stringMatching(/^[0-9a-f]{64}$/), fc.stringMatching(/^[0-9a-f]{64}$/), fc.nat(), (p, s, t) => {
      expect(attestationCanonical(p, s, t)).toBe(protocolAttestationCanonical(p, s, t));
    }));
  });

  test("identifier patterns equal the protocol's field schemas", () => {
    const ours: (string | undefined)[] = [ID_RE.source, PUBKEY_RE.source, SIGNATURE_RE.source, TOPIC_RE.source, GROUP_RE.source];
    expect(ours).toEqual([F.Id.pattern, F.Hex32.pattern, F.Hex64.pattern, F.TopicName.pattern, F.GroupName.pattern]);
    const target = new RegExp(F.Target.pattern!);
    const samples = fc.oneof(fc.string(), fc.constantFrom("*", "#", "@", "#a", "@a/b", "#a/b", A).chain((p) => fc.string().map((s) => p + s)));
    fc.assert(fc.property(samples, (s) => expect(isTarget(s)).toBe(target.test(s))), { numRuns: 2000 });
  });
});
