// Scenario 8: the test vectors of docs/protocol.md §11.8 and §12, and the signed examples in §4 and
// §6, recomputed with the independent client (wire.ts, envelopes.ts). The vectors are read from the
// document itself, so a change to either side is caught.
import { describe, expect, test } from "bun:test";
import { argon2Sync } from "node:crypto";
import { readFileSync } from "node:fs";
import { attestationCanonical, auditHash, auditLine, b64, canonicalJson, dashboardLoginCanonical, helloCanonical, inviteClaimCanonical, inviteKeyCanonical, inviteKeyCanonicalV1, inviteV2Canonical, keyFromSeed, letterSkeleton, nameSkeleton, requestCanonical, sessionHelloCanonical, sha256hex, sign, sodium, unb64, unb64url, unhex, utf8, verify, verifyChain, hex, type AuditEntry } from "./wire.ts";
import { decodeInner, inviteSecretKeys, openKeysBlob, openMessage, purposeKey, sealDirect, sealFanout, encodeInner } from "./envelopes.ts";

const doc = readFileSync(new URL("../../docs/protocol.md", import.meta.url), "utf8");

function blocks(info: string): Map<string, any> {
  const out = new Map<string, any>();
  const re = new RegExp("```json " + info + " (\\S+)\\n([\\s\\S]*?)\\n```", "g");
  for (const m of doc.matchAll(re)) out.set(m[1]!, JSON.parse(m[2]!));
  return out;
}
const vectors = blocks("test-vector");
const e2e = blocks("e2e-vector");
const v = (name: string) => {
  const x = vectors.get(name);
  if (!x) throw new Error(`no test-vector ${name} in protocol.md`);
  return x;
};
/** `json frame client` examples of one type. */
const clientFrames = (type: string) =>
  [...doc.matchAll(/```json frame client\n([\s\S]*?)\n```/g)].map((m) => JSON.parse(m[1]!)).filter((f) => f.type === type);
const seedKey = (seedHex: string) => keyFromSeed(unhex(seedHex));

describe("§12 test vectors", () => {
  test("the document has the vectors this suite expects", () => {
    for (const n of ["key-owner", "key-session", "key-invite", "key-joiner", "hello", "session-attestation", "session-hello", "invite-v2", "invite-key", "invite-key-v1", "invite-claim", "signed-request", "canonical-json", "canonical-json-unicode", "audit-hash", "audit-chain", "dashboard-login", "name-skeleton", "inner-json"])
      expect(vectors.has(n)).toBe(true);
    for (const n of ["e2e-direct", "e2e-fanout", "e2e-direct-session", "e2e-fanout-session", "e2e-purpose-keys", "e2e-invite-secret", "e2e-invite-link", "e2e-backup"]) expect(e2e.has(n)).toBe(true);
  });

  test("§12.1 keys", () => {
    for (const n of ["key-owner", "key-session", "key-invite", "key-joiner"]) {
      const x = v(n);
      const k = seedKey(x.seedHex);
      expect(k.pub).toBe(x.publicKey);
      expect(hex(k.secretKey)).toBe(x.secretKey);
    }
  });

  test("§12.2 member hello", () => {
    const x = v("hello");
    const c = helloCanonical(x.meshId, x.memberId, x.pubkey, x.timestamp);
    expect(c).toBe(x.canonical);
    expect(sign(c, seedKey(x.seedHex))).toBe(x.signature);
  });

  test("§12.3 session attestation and session hello", () => {
    const a = v("session-attestation");
    const ac = attestationCanonical(a.parentMemberPubkey, a.sessionPubkey, a.expiresAt);
    expect(ac).toBe(a.canonical);
    expect(sign(ac, seedKey(a.parentSeedHex))).toBe(a.signature);
    const h = v("session-hello");
    const hc = sessionHelloCanonical(h.meshId, h.parentMemberPubkey, h.sessionPubkey, h.timestamp);
    expect(hc).toBe(h.canonical);
    expect(sign(hc, seedKey(h.sessionSeedHex))).toBe(h.signature);
  });

  test("§12.4 invite v2 and §12.4b invite key", () => {
    const x = v("invite-v2");
    const c = inviteV2Canonical(x.meshId, x.inviteId, x.expiresAt, x.role, x.issuerPubkey);
    expect(c).toBe(x.canonical);
    expect(sign(c, seedKey(x.issuerSeedHex))).toBe(x.signature);
    const k = v("invite-key");
    const kc = inviteKeyCanonical(k.meshId, k.inviteId, k.invitePubkey, k.maxUses);
    expect(kc).toBe(k.canonical);
    expect(sign(kc, seedKey(k.issuerSeedHex))).toBe(k.signature);
    const k1 = v("invite-key-v1");
    const k1c = inviteKeyCanonicalV1(k1.meshId, k1.inviteId, k1.invitePubkey);
    expect(k1c).toBe(k1.canonical);
    expect(sign(k1c, seedKey(k1.issuerSeedHex))).toBe(k1.signature);
  });

  test("§12.5 invite claim: one string, two signatures", () => {
    const x = v("invite-claim");
    const c = inviteClaimCanonical(x.inviteId, x.joinerPubkey, x.timestamp);
    expect(c).toBe(x.canonical);
    expect(sign(c, seedKey(x.inviteSeedHex))).toBe(x.inviteSignature);
    expect(sign(c, seedKey(x.joinerSeedHex))).toBe(x.signature);
  });

  test("§12.6 signed request (and §3.6's empty-body hash)", () => {
    const x = v("signed-request");
    expect(sha256hex(x.body)).toBe(x.bodySha256);
    const c = requestCanonical(x.method, x.path, x.timestamp, x.bodySha256);
    expect(c).toBe(x.canonical);
    expect(sign(c, seedKey(x.seedHex))).toBe(x.signature);
    expect(sha256hex("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  test("§12.7 canonical JSON", () => {
    for (const n of ["canonical-json", "canonical-json-unicode"]) expect(canonicalJson(v(n).input)).toBe(v(n).canonical);
    // §9.2: non-JSON values are refused, never dropped.
    expect(() => canonicalJson({ a: Number.NaN })).toThrow();
    expect(() => canonicalJson({ a: undefined })).toThrow();
    expect(() => canonicalJson({ a: Infinity })).toThrow();
  });

  test("§12.8 audit hash", () => {
    const x = v("audit-hash");
    expect(auditLine(x)).toBe(x.line);
    expect(auditHash(x)).toBe(x.hash);
  });

  test("§12.9 audit chain: verifies, and breaks where §9.3 says", () => {
    const x = v("audit-chain");
    const entries = x.entries as AuditEntry[];
    expect(verifyChain(entries)).toEqual({ valid: true, entries: 3, head: x.head, brokenAt: null });
    for (const e of entries) expect(auditHash(e)).toBe(e.hash);
    // an edited payload breaks at that entry
    const edited = structuredClone(entries);
    (edited[1]!.payload as any).maxUses = 2;
    expect(verifyChain(edited)).toMatchObject({ valid: false, brokenAt: 2, head: entries[0]!.hash });
    // a removed entry breaks at the entry after the gap
    expect(verifyChain([entries[0]!, entries[2]!])).toMatchObject({ valid: false, brokenAt: 3 });
    // swapped entries break at the first swapped position (the seq found there)
    expect(verifyChain([entries[0]!, entries[2]!, entries[1]!])).toMatchObject({ valid: false, brokenAt: 3 });
  });

  test("§12.10 dashboard login", () => {
    const x = v("dashboard-login");
    const c = dashboardLoginCanonical(x.meshId, x.memberId, x.nonce, x.expiresAt);
    expect(c).toBe(x.canonical);
    expect(sign(c, seedKey(x.seedHex))).toBe(x.signature);
  });
});

describe("signed examples in §4 and §6 agree with the vectors", () => {
  test("§4.3.1 hello and §4.3.2 session_hello examples verify", () => {
    const [h] = clientFrames("hello");
    expect(verify(helloCanonical(h.meshId, h.memberId, h.pubkey, h.timestamp), h.signature, h.pubkey)).toBe(true);
    const [s] = clientFrames("session_hello");
    expect(verify(sessionHelloCanonical(s.meshId, s.parentMemberPubkey, s.sessionPubkey, s.timestamp), s.signature, s.sessionPubkey)).toBe(true);
    const a = s.attestation;
    expect(a.sessionPubkey).toBe(s.sessionPubkey);
    expect(verify(attestationCanonical(a.parentMemberPubkey, a.sessionPubkey, a.expiresAt), a.signature, s.parentMemberPubkey)).toBe(true);
  });

  test("§4.3.22 invite_create example: signature and keySignature by the issuer", () => {
    const [f] = clientFrames("invite_create");
    const issuer = v("invite-v2").issuerPubkey;
    const meshId = v("invite-v2").meshId;
    expect(verify(inviteV2Canonical(meshId, f.inviteId, f.expiresAt, f.role, issuer), f.signature, issuer)).toBe(true);
    expect(verify(inviteKeyCanonical(meshId, f.inviteId, f.invitePubkey, f.maxUses), f.keySignature, issuer)).toBe(true);
  });

  test("§4.3.19 member_list example: the admission evidence checks out as §11.5 describes", () => {
    const m = doc.match(/```json frame server result=member_list\n([\s\S]*?)\n```/);
    const members = JSON.parse(m![1]!).data.members as any[];
    const meshId = v("invite-v2").meshId;
    const bob = members.find((x) => x.admission);
    const a = bob.admission;
    expect(verify(inviteV2Canonical(meshId, a.inviteId, a.expiresAt, a.role, a.issuerPubkey), a.inviteSignature, a.issuerPubkey)).toBe(true);
    expect(verify(inviteKeyCanonical(meshId, a.inviteId, a.invitePubkey, a.maxUses), a.keySignature, a.issuerPubkey)).toBe(true);
    expect(verify(inviteClaimCanonical(a.inviteId, bob.pubkey, a.claimedAt), a.claimSignature, a.invitePubkey)).toBe(true);
    expect(a.claimedAt).toBeLessThanOrEqual(a.expiresAt * 1000 + 60_000);
    expect(bob.role).toBe(a.role);
  });

  test("§6.3 CreateMeshBody example is the signed-request vector's body", () => {
    const m = doc.match(/```json http-body CreateMeshBody\n([\s\S]*?)\n```/);
    expect(m![1]).toBe(v("signed-request").body);
  });

  test("§6.4 ClaimInviteBody example carries the claim vector's signatures", () => {
    const m = doc.match(/```json http-body ClaimInviteBody\n([\s\S]*?)\n```/);
    const body = JSON.parse(m![1]!);
    const x = v("invite-claim");
    expect(body).toMatchObject({ pubkey: x.joinerPubkey, timestamp: x.timestamp, inviteSignature: x.inviteSignature, signature: x.signature });
  });
});

describe("§11.8 end-to-end vectors", () => {
  test("e2e-direct opens to exactly `inner`, and our own seal opens the same way", () => {
    const x = e2e.get("e2e-direct");
    const recipient = seedKey(x.recipientSeedHex);
    const sender = seedKey(x.senderSeedHex);
    const push = { meshId: x.push.meshId, from: { pubkey: x.push.fromPubkey }, to: x.push.to, nonce: x.push.nonce, ciphertext: x.push.ciphertext };
    const inner = openMessage(push, [recipient]);
    expect(inner).toEqual(x.inner);
    expect(x.push.nonce).toMatch(/^[A-Za-z0-9+/]{32}$/);
    // round trip with our own sealing
    const sealed = sealDirect(sender, recipient.pub, encodeInner(x.inner));
    expect(openMessage({ ...push, ...sealed }, [recipient])).toEqual(x.inner);
    // the recipient check of §11.4: a push that claims another target is refused
    expect(() => openMessage({ ...push, to: sender.pub }, [recipient, sender])).toThrow();
  });

  test("e2e-fanout opens to exactly `inner` (epoch from the header), and our own seal opens", () => {
    const x = e2e.get("e2e-fanout");
    const sender = seedKey(x.senderSeedHex);
    const keys = new Map([[x.epoch as number, unb64(x.meshKeyB64)]]);
    const push = { meshId: x.push.meshId, from: { pubkey: x.push.fromPubkey }, to: x.push.to, nonce: x.push.nonce, ciphertext: x.push.ciphertext };
    const raw = unb64(x.push.ciphertext);
    expect(raw[0]).toBe(0x02);
    expect(new DataView(raw.buffer, raw.byteOffset + 1, 4).getUint32(0)).toBe(x.epoch);
    expect(openMessage(push, [], keys)).toEqual(x.inner);
    const sealed = sealFanout(sender, unb64(x.meshKeyB64), x.epoch, x.push.meshId, x.push.to, encodeInner(x.inner));
    expect(openMessage({ ...push, ...sealed }, [], keys)).toEqual(x.inner);
    // the associated data binds the target: the same ciphertext under another topic does not open
    expect(() => openMessage({ ...push, to: "#random" }, [], keys)).toThrow();
  });

  test("e2e-direct-session and e2e-fanout-session: a session's message carries its attestation, checked against from.memberPubkey", () => {
    for (const name of ["e2e-direct-session", "e2e-fanout-session"]) {
      const x = e2e.get(name);
      const keys = x.meshKeyB64 === undefined ? new Map() : new Map([[x.epoch as number, unb64(x.meshKeyB64)]]);
      const push = { meshId: x.push.meshId, from: { pubkey: x.push.fromPubkey, memberPubkey: x.push.fromMemberPubkey }, to: x.push.to, nonce: x.push.nonce, ciphertext: x.push.ciphertext };
      expect(openMessage(push, [seedKey(x.recipientSeedHex)], keys)).toEqual(x.inner);
      expect(x.inner.att.parentMemberPubkey).toBe(x.push.fromMemberPubkey);
      // a push that calls the sender a member while the payload carries an attestation is refused
      expect(() => openMessage({ ...push, from: { pubkey: x.push.fromPubkey } }, [seedKey(x.recipientSeedHex)], keys)).toThrow();
    }
    expect(e2e.get("e2e-direct-session").inner.replyTo).toMatch(/^[A-Za-z0-9_-]{8,64}$/);
  });

  test("e2e-purpose-keys", () => {
    const x = e2e.get("e2e-purpose-keys");
    const mk = unb64(x.meshKeyB64);
    expect(hex(purposeKey(mk, "*"))).toBe(x.broadcast);
    expect(hex(purposeKey(mk, "#general"))).toBe(x.topicGeneral);
    expect(hex(purposeKey(mk, "@backend"))).toBe(x.groupBackend);
  });

  test("e2e-invite-secret: invite key, blob key and keysBlob", () => {
    const x = e2e.get("e2e-invite-secret");
    const { inviteKey, blobKey } = inviteSecretKeys(unb64url(x.secretB64url));
    expect(inviteKey.pub).toBe(x.invitePubkey);
    expect(hex(blobKey)).toBe(x.blobKeyHex);
    const opened = openKeysBlob(blobKey, x.inviteId, x.keysBlob);
    expect(opened.json).toBe(x.keysJson);
    expect(b64(opened.keys.get(0)!)).toBe("BQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQU=");
  });

  test("e2e-invite-link (§11.5): decoded, its signature checked, its invite key derived", () => {
    const x = e2e.get("e2e-invite-link");
    const token = x.link.slice("ic://join/".length);
    expect(x.link.startsWith("ic://join/")).toBe(true);
    const payload = JSON.parse(new TextDecoder().decode(unb64url(token)));
    expect(payload).toEqual(x.payload);
    expect(verify(inviteV2Canonical(payload.mesh, payload.invite, payload.exp, payload.role, payload.issuer), payload.sig, payload.issuer)).toBe(true);
    expect(payload.sig).toBe(v("invite-v2").signature);
    expect(inviteSecretKeys(unb64url(payload.s)).inviteKey.pub).toBe(x.invitePubkey);
    expect(x.nowMs).toBeLessThan(payload.exp * 1000);
    // The link is base64url without padding of the UTF-8 JSON.
    expect(Buffer.from(JSON.stringify(x.payload)).toString("base64url")).toBe(token);
  });

  test("e2e-backup (§11.7) opens with the passphrase", () => {
    const x = e2e.get("e2e-backup");
    const file = unb64(x.fileB64);
    expect(new TextDecoder().decode(file.subarray(0, 4))).toBe("CMBK");
    expect(file[4]).toBe(1);
    const headerLen = new DataView(file.buffer, file.byteOffset + 5, 2).getUint16(0, false);
    const headerEnd = 7 + headerLen;
    const header = JSON.parse(new TextDecoder().decode(file.subarray(7, headerEnd)));
    expect(header.kdf).toBe("argon2id");
    expect(header.v).toBe(19);
    // downgrade / DoS bounds a reader applies before running Argon2
    expect(header.m >= 65536 && header.t >= 2 && header.m <= 2097152 && header.t <= 10 && header.p <= 4).toBe(true);
    const key = argon2Sync("argon2id", {
      message: Buffer.from(x.passphrase.normalize("NFC")),
      nonce: Buffer.from(unb64(header.salt)),
      parallelism: header.p,
      tagLength: 32,
      memory: header.m,
      passes: header.t,
    });
    const nonce = file.subarray(headerEnd, headerEnd + 24);
    const ct = file.subarray(headerEnd + 24);
    const plain = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, ct, file.subarray(0, headerEnd), nonce, new Uint8Array(key));
    expect(new TextDecoder().decode(plain)).toBe(x.plaintext);
  });

  test("§12.11 name skeletons (§4.2.1)", () => {
    const x = v("name-skeleton");
    expect(x.rule).toBe(2);
    for (const c of x.cases) expect({ name: c.name, letters: letterSkeleton(c.name), skeleton: nameSkeleton(c.name) }).toEqual(c);
  });

  test("§12.12 the inner payload's exact bytes, and the near misses a decoder refuses (§11.1)", () => {
    const x = v("inner-json");
    const json = encodeInner(x.inner);
    expect(json).toBe(x.json);
    expect({ length: utf8(json).length, sha256: sha256hex(utf8(json)) }).toEqual({ length: x.utf8Length, sha256: x.utf8Sha256 });
    expect(decodeInner(json)).toEqual(x.inner);
    for (const [from, to] of x.refusedEdits as [string, string][]) {
      expect(json.includes(from)).toBe(true);
      expect(() => decodeInner(json.replace(from, to))).toThrow();
    }
  });

  test("§11.1 strict inner decoding refuses other key orders and extra keys", () => {
    const x = e2e.get("e2e-direct").inner;
    const good = encodeInner(x);
    expect(decodeInner(good)).toEqual(x);
    const reordered = JSON.stringify({ mesh: x.mesh, v: 1, from: x.from, to: x.to, id: x.id, ts: x.ts, kind: x.kind, body: x.body });
    expect(() => decodeInner(reordered)).toThrow();
    expect(() => decodeInner(good.replace(/}$/, ',"extra":1}'))).toThrow();
    expect(() => decodeInner(good.replace('"v":1,', '"v": 1,'))).toThrow();
    expect(utf8(good).length).toBeGreaterThan(0);
  });
});
