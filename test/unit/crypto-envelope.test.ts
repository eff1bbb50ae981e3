// Pins src/crypto/envelope.ts: the direct and fan-out message formats, and reliability.md T17
// (a malicious broker re-targets, moves, re-attributes or replays ciphertexts) and T20.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { BoxCache } from "../../src/crypto/box.ts";
import { attestationCanonical } from "../../src/crypto/attestation.ts";
import { fromBase64, toBase64, utf8 } from "../../src/crypto/encoding.ts";
import { openEnvelope, sealEnvelope, type InnerFields, type OpenInput, type OpenKeys } from "../../src/crypto/envelope.ts";
import { encodeInner } from "../../src/crypto/inner.ts";
import { newMeshKey, purposeKey } from "../../src/crypto/mesh-keys.ts";
import { generateSigningKeypair, signDetached, type SigningKeypair } from "../../src/crypto/sign.ts";
import { sodium } from "../../src/crypto/sodium.ts";

const MESH = "mesh_T3stVect0r";
const alice = generateSigningKeypair();
const bob = generateSigningKeypair();
const carol = generateSigningKeypair();
const session = generateSigningKeypair(); // a session of alice
const EPOCH = 5;
const meshKey = newMeshKey();
const bobKeys: OpenKeys = { mySecret: bob.secretKey, meshKeys: new Map([[EPOCH, meshKey]]) };

const fields = (from: SigningKeypair, to: string, more: Partial<InnerFields> = {}): InnerFields => ({
  mesh: MESH, from: from.publicKey, to, id: `cm_${sodium.to_hex(sodium.randombytes_buf(6))}`, ts: 1_767_225_600_000, kind: "text", body: "main is red", ...more,
});
/** Seals as `from` and builds the push an honest broker would deliver. */
function send(from: SigningKeypair, to: string, more: Partial<InnerFields> = {}): { f: InnerFields; push: OpenInput } {
  const f = fields(from, to, more);
  const sealed = sealEnvelope(f, { mySecret: from.secretKey, meshKey: { epoch: EPOCH, key: meshKey } });
  return { f, push: { ...sealed, meshId: MESH, fromPubkey: from.publicKey, to } };
}
const cache = new BoxCache();
const reason = (push: OpenInput, keys = bobKeys) => {
  const r = openEnvelope(push, keys, cache);
  return r.ok ? "ok" : r.reason;
};
function flipBit(b64: string, bit: number): string {
  const bytes = fromBase64(b64);
  bytes[bit >> 3]! ^= 1 << (bit & 7);
  return toBase64(bytes);
}

describe("round trips", () => {
  const body = fc.oneof(fc.string({ unit: "binary", maxLength: 16 * 1024 }), fc.string({ unit: "grapheme-ascii", maxLength: 64 * 1024 }));

  test("direct: any body of 0–64 KiB opens to the same payload", () => {
    fc.assert(
      fc.property(body, (text) => {
        const { f, push } = send(alice, bob.publicKey, { body: text });
        expect(openEnvelope(push, bobKeys, cache)).toEqual({ ok: true, inner: { v: 1, ...f } });
      }),
      { numRuns: 60 },
    );
  });

  test.each(["*", "@backend", "#deploys"])("fan-out to %s: any body of 0–64 KiB opens to the same payload", (to) => {
    fc.assert(
      fc.property(body, (text) => {
        const { f, push } = send(alice, to, { body: text, replyTo: "Vb3k9QmZP1xR7tLwYc2hNA" });
        expect(openEnvelope(push, bobKeys)).toEqual({ ok: true, inner: { v: 1, ...f } });
      }),
      { numRuns: 25 },
    );
  });

  test("the largest body (64 KiB of control characters) still seals and opens", () => {
    const { push } = send(alice, "#deploys", { body: "\u0001".repeat(64 * 1024) });
    expect(reason(push)).toBe("ok");
  });
});

describe("fan-out wire format, opened independently with libsodium", () => {
  test("0x02 ‖ epoch BE ‖ XChaCha20-Poly1305 under the purpose key, AD names mesh, epoch and target", () => {
    const { f, push } = send(alice, "#deploys");
    const ct = fromBase64(push.ciphertext);
    expect([ct[0], new DataView(ct.buffer).getUint32(1, false), fromBase64(push.nonce).length]).toEqual([0x02, EPOCH, 24]);
    const ad = utf8(`claudemesh-fanout-v1|${MESH}|${EPOCH}|#deploys`);
    const key = sodium.crypto_generichash(32, utf8("claudemesh-topic-v1|deploys"), meshKey);
    const plain = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, ct.subarray(5), ad, fromBase64(push.nonce), key, "text");
    const { inner, sig } = JSON.parse(plain);
    expect(inner).toBe(encodeInner(f));
    expect(sodium.crypto_sign_verify_detached(sodium.from_hex(sig), utf8(`claudemesh-msg-v1|${inner}`), sodium.from_hex(alice.publicKey))).toBe(true);
  });
});

describe("tampering: every single bit flip fails", () => {
  test.each([bob.publicKey, "#deploys"])("to %s: nonce, version, epoch, ciphertext and tag", (to) => {
    const { push } = send(alice, to, { body: "ok" });
    const results = new Set<string>();
    for (let bit = 0; bit < 24 * 8; bit++) results.add(reason({ ...push, nonce: flipBit(push.nonce, bit) }));
    const ctBits = fromBase64(push.ciphertext).length * 8;
    for (let bit = 0; bit < ctBits; bit++) results.add(reason({ ...push, ciphertext: flipBit(push.ciphertext, bit) }));
    expect(results.has("ok")).toBe(false);
    expect([...results].every((r) => ["bad_mac", "malformed", "unknown_epoch"].includes(r))).toBe(true);
  });

  test("an epoch bit flip fails even when the other epoch's key is the same key (AD binds the epoch)", () => {
    const { push } = send(alice, "*");
    const keys: OpenKeys = { mySecret: bob.secretKey, meshKeys: new Map(Array.from({ length: 64 }, (_, e) => [e, meshKey] as const)) };
    for (let bit = 8; bit < 40; bit++) {
      const epochAfter = new DataView(fromBase64(flipBit(push.ciphertext, bit)).buffer).getUint32(1, false);
      expect(reason({ ...push, ciphertext: flipBit(push.ciphertext, bit) }, keys)).toBe(epochAfter < 64 ? "bad_mac" : "unknown_epoch");
    }
  });
});

describe("wrong keys", () => {
  test("a DM opened by another recipient fails", () => {
    const { push } = send(alice, bob.publicKey);
    expect(reason(push, { mySecret: carol.secretKey, meshKeys: new Map() })).toBe("bad_mac");
  });

  test("a fan-out message under another mesh key, or an epoch the reader lacks, fails", () => {
    const { push } = send(alice, "*");
    expect(reason(push, { mySecret: bob.secretKey, meshKeys: new Map([[EPOCH, newMeshKey()]]) })).toBe("bad_mac");
    expect(reason(push, { mySecret: bob.secretKey, meshKeys: new Map([[EPOCH - 1, meshKey]]) })).toBe("unknown_epoch");
  });

  test("a member removed at rotation cannot read the next epoch", () => {
    const next = newMeshKey();
    const f = fields(alice, "#deploys");
    const sealed = sealEnvelope(f, { mySecret: alice.secretKey, meshKey: { epoch: EPOCH + 1, key: next } });
    const push = { ...sealed, meshId: MESH, fromPubkey: alice.publicKey, to: "#deploys" };
    expect(reason(push, { mySecret: carol.secretKey, meshKeys: new Map([[EPOCH, meshKey]]) })).toBe("unknown_epoch");
    expect(reason(push, { mySecret: bob.secretKey, meshKeys: new Map([[EPOCH, meshKey], [EPOCH + 1, next]]) })).toBe("ok");
  });
});

describe("a malicious broker changing the push", () => {
  test("a DM re-targeted to another recipient or mesh is a context mismatch", () => {
    const { push } = send(alice, bob.publicKey);
    expect(reason({ ...push, to: carol.publicKey })).toBe("context_mismatch");
    expect(reason({ ...push, recipientPubkey: carol.publicKey })).toBe("context_mismatch");
    expect(reason({ ...push, meshId: "mesh_0therMesh" })).toBe("context_mismatch");
    expect(reason({ ...push, to: "*" })).toBe("context_mismatch");
  });

  test("a DM meant for carol, relabelled for bob, does not open for bob", () => {
    const { push } = send(alice, carol.publicKey);
    expect(reason({ ...push, to: bob.publicKey })).toBe("bad_mac");
  });

  test("a DM attributed to another sender fails (the box key is pairwise)", () => {
    const { push } = send(alice, bob.publicKey);
    expect(reason({ ...push, fromPubkey: carol.publicKey })).toBe("bad_mac");
  });

  test("a fan-out message moved to another topic, group, broadcast or mesh fails", () => {
    const { push } = send(alice, "#a-topic");
    for (const to of ["#b-topic", "@a-topic", "*"]) expect(reason({ ...push, to })).toBe("bad_mac");
    expect(reason({ ...push, meshId: "mesh_0therMesh" })).toBe("bad_mac");
    expect(reason({ ...push, to: bob.publicKey })).toBe("context_mismatch");
  });

  test("a fan-out message from X pushed as from Y is a context mismatch", () => {
    const { push } = send(alice, "*");
    expect(reason({ ...push, fromPubkey: carol.publicKey })).toBe("context_mismatch");
  });

  test("a member who signs with its own key but names another sender is caught by the signature", () => {
    // Carol holds the mesh key and forges a broadcast "from alice", signed with her own key.
    const inner = encodeInner(fields(alice, "*"));
    const sig = signDetached(`claudemesh-msg-v1|${inner}`, carol.secretKey);
    const nonce = sodium.randombytes_buf(24);
    const ad = utf8(`claudemesh-fanout-v1|${MESH}|${EPOCH}|*`);
    const aead = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(JSON.stringify({ inner, sig }), ad, null, nonce, purposeKey(meshKey, "*"));
    const ct = new Uint8Array([0x02, 0, 0, 0, EPOCH, ...aead]);
    const push = { nonce: toBase64(nonce), ciphertext: toBase64(ct), meshId: MESH, fromPubkey: alice.publicKey, to: "*" };
    expect(reason(push)).toBe("bad_signature");
  });
});

describe("session attestation", () => {
  const expiresAt = 1_767_225_600_000 + 3_600_000;
  const att = (signer = alice, exp = expiresAt, sessionPubkey = session.publicKey) => ({
    sessionPubkey, parentMemberPubkey: alice.publicKey, expiresAt: exp, signature: signDetached(attestationCanonical(alice.publicKey, sessionPubkey, exp), signer.secretKey),
  });
  const asSession = (push: OpenInput): OpenInput => ({ ...push, fromMemberPubkey: alice.publicKey });

  test.each([bob.publicKey, "#deploys"])("a session with a valid attestation is accepted (to %s)", (to) => {
    expect(reason(asSession(send(session, to, { att: att() }).push))).toBe("ok");
    expect(reason(send(session, to, { att: att() }).push)).toBe("ok"); // member key unknown to caller
  });

  test.each([
    ["signed by another key", () => ({ att: att(carol) })],
    ["expired before the message was written", () => ({ att: att(alice, 1_767_225_599_999) })],
    ["vouching for another session key", () => ({ att: att(alice, expiresAt, carol.publicKey) })],
    ["missing while the broker says the sender is a session", () => ({})],
  ])("refused when %s", (_, more) => {
    expect(reason(asSession(send(session, "#deploys", more()).push))).toBe("bad_attestation");
  });

  test("refused when the attestation names a member other than the push's", () => {
    expect(reason({ ...send(session, "*", { att: att() }).push, fromMemberPubkey: carol.publicKey })).toBe("bad_attestation");
  });

  test("a member's own message needs no attestation, and may not carry one", () => {
    expect(reason({ ...send(alice, "*").push, fromMemberPubkey: alice.publicKey })).toBe("ok");
    const selfAttested = send(alice, "*", { att: att(alice, expiresAt, alice.publicKey) }).push;
    expect(reason({ ...selfAttested, fromMemberPubkey: alice.publicKey })).toBe("bad_attestation");
  });
});

describe("sealing refuses bad input", () => {
  test("from must be the sender's own key; fan-out needs a mesh key; fields are validated", () => {
    expect(() => sealEnvelope(fields(bob, "*"), { mySecret: alice.secretKey, meshKey: { epoch: 0, key: meshKey } })).toThrow(TypeError);
    expect(() => sealEnvelope(fields(alice, "*"), { mySecret: alice.secretKey })).toThrow(TypeError);
    expect(() => sealEnvelope(fields(alice, "*"), { mySecret: alice.secretKey, meshKey: { epoch: -1, key: meshKey } })).toThrow(TypeError);
    expect(() => sealEnvelope(fields(alice, "#Bad|topic"), { mySecret: alice.secretKey, meshKey: { epoch: 0, key: meshKey } })).toThrow(TypeError);
    expect(() => sealEnvelope(fields(alice, bob.publicKey, { body: "x".repeat(64 * 1024 + 1) }), { mySecret: alice.secretKey })).toThrow(TypeError);
  });

  test("openEnvelope never throws on hostile pushes", () => {
    const { push } = send(alice, "*");
    fc.assert(
      fc.property(fc.record({ nonce: fc.string(), ciphertext: fc.string(), meshId: fc.string(), fromPubkey: fc.string(), to: fc.string() }), (p) => {
        expect(openEnvelope(p, bobKeys).ok).toBe(false);
        expect(openEnvelope({ ...push, ciphertext: p.ciphertext }, bobKeys).ok).toBe(false);
      }),
      { numRuns: 500 },
    );
    expect(reason({ ...push, ciphertext: toBase64(new Uint8Array([0x03, 1, 2])) })).toBe("malformed");
    expect(reason(push, { mySecret: "nope", meshKeys: new Map() })).toBe("malformed");
  });
});
