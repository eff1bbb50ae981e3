// Pins docs/protocol.md §12: every ```json test-vector block is recomputed with the real code
// (keys from seeds, canonical strings, ed25519 signatures, canonical JSON, audit hashes) and must
// equal the block as a whole. The signed examples elsewhere in the doc must carry these values.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { signDetached, signingKeypairFromSeed, verifyDetached } from "../../src/crypto/sign.ts";
import { fromHex } from "../../src/crypto/encoding.ts";
import { sha256Hex } from "../../src/crypto/hash.ts";
import * as Canonical from "../../src/protocol/canonical.ts";
import {
  attestationCanonical,
  dashboardLoginCanonical,
  helloCanonical,
  inviteCanonical,
  inviteKeyCanonical,
  inviteKeyCanonicalV1,
  inviteClaimCanonical,
  requestCanonical,
  sessionHelloCanonical,
} from "../../src/protocol/canonical.ts";
import { MSG_SIG_PREFIX } from "../../src/crypto/envelope.ts";
import { canonicalJson } from "../../src/protocol/canonical-json.ts";
import { auditHash, GENESIS, verifyChain, type ChainEntry } from "../../src/protocol/audit-chain.ts";
import { DASHBOARD_LINK_TTL_MS } from "../../src/protocol/limits.ts";
import { NAME_RULE, letterSkeleton, nameSkeleton } from "../../src/protocol/name-compare.ts";
import { encodeInner, parseInner } from "../../src/crypto/inner.ts";
import { fencedBlocks } from "../helpers/markdown.ts";

const DOC = readFileSync(join(import.meta.dir, "../../docs/protocol.md"), "utf8");


type V = Record<string, any>;
const vectors = new Map<string, V>();
for (const b of fencedBlocks(DOC)) {
  const m = /^json test-vector (\S+)$/.exec(b.info);
  if (!m) continue;
  if (vectors.has(m[1]!)) throw new Error(`duplicate test vector ${m[1]} (line ${b.line})`);
  vectors.set(m[1]!, JSON.parse(b.body));
}
const vec = (name: string): V => {
  const v = vectors.get(name);
  if (!v) throw new Error(`docs/protocol.md has no test vector ${name}`);
  return v;
};

const keysFrom = (seedHex: string) => signingKeypairFromSeed(fromHex(seedHex));
const sign = (canonical: string, seedHex: string) => signDetached(canonical, keysFrom(seedHex).secretKey);

/** Seeds of the key vectors: one byte repeated 32 times. */
const KEY_SEEDS = { "key-owner": 0x01, "key-session": 0x02, "key-invite": 0x03, "key-joiner": 0x04 } as const;

const EXPECTED = [
  ...Object.keys(KEY_SEEDS),
  "hello",
  "session-attestation",
  "session-hello",
  "invite-v2",
  "invite-key",
  "invite-key-v1",
  "invite-claim",
  "signed-request",
  "dashboard-login",
  "canonical-json",
  "canonical-json-unicode",
  "audit-hash",
  "audit-chain",
  "name-skeleton",
  "inner-json",
];

test("the doc holds exactly the expected test vectors", () => {
  expect(vectors.size).toBeGreaterThanOrEqual(EXPECTED.length);
  expect([...vectors.keys()].sort()).toEqual([...EXPECTED].sort());
});

describe("keys from seeds", () => {
  for (const [name, byte] of Object.entries(KEY_SEEDS)) {
    test(name, () => {
      const v = vec(name);
      const seedHex = Buffer.alloc(32, byte).toString("hex");
      const kp = keysFrom(seedHex);
      expect(v).toEqual({ seedHex, publicKey: kp.publicKey, secretKey: kp.secretKey });
      expect(kp.secretKey).toBe(seedHex + kp.publicKey);
    });
  }
});

describe("canonical strings and signatures", () => {
  // §3's table lists every string the code signs, with its label and number of fields: each
  // placeholder `<…>` stands for one field the function fills in.
  test("the §3 table has one row per canonical string of the code, with the same label and fields", () => {
    const start = DOC.indexOf("<!-- table:canonical -->");
    const rows = DOC.slice(start, DOC.indexOf("<!-- /table:canonical -->", start)).split("\n").filter((l) => l.startsWith("|")).slice(2);
    const documented = rows.map((r) => /`([^`]+)`/.exec(r.split(" | ")[2]!)![1]!.replaceAll("\\|", "|").replace(/<[^>]+>/g, "<>")).sort();
    const functions = Object.values(Canonical).filter((f): f is (...a: string[]) => string => typeof f === "function");
    const code = [...functions.map((f) => f(...Array<string>(f.length).fill("<>"))), `${MSG_SIG_PREFIX}<>`].sort();
    expect(functions.length).toBeGreaterThanOrEqual(8);
    expect(documented).toEqual(code);
  });

  test("hello", () => {
    const v = vec("hello");
    const canonical = helloCanonical(v.meshId, v.memberId, v.pubkey, v.timestamp);
    expect(v).toEqual({ seedHex: v.seedHex, meshId: v.meshId, memberId: v.memberId, pubkey: keysFrom(v.seedHex).publicKey, timestamp: v.timestamp, canonical, signature: sign(canonical, v.seedHex) });
    expect(canonical).toBe(`${v.meshId}|${v.memberId}|${v.pubkey}|${v.timestamp}`);
    expect(verifyDetached(v.signature, canonical, v.pubkey)).toBe(true);
  });

  test("session attestation", () => {
    const v = vec("session-attestation");
    const canonical = attestationCanonical(v.parentMemberPubkey, v.sessionPubkey, v.expiresAt);
    expect(v).toEqual({
      parentSeedHex: v.parentSeedHex,
      parentMemberPubkey: keysFrom(v.parentSeedHex).publicKey,
      sessionPubkey: vec("key-session").publicKey,
      expiresAt: v.expiresAt,
      canonical,
      signature: sign(canonical, v.parentSeedHex),
    });
    expect(canonical.startsWith("claudemesh-session-attest|")).toBe(true);
    expect(verifyDetached(v.signature, canonical, v.parentMemberPubkey)).toBe(true);
    expect(verifyDetached(v.signature, canonical, v.sessionPubkey)).toBe(false);
  });

  test("session hello", () => {
    const v = vec("session-hello");
    const canonical = sessionHelloCanonical(v.meshId, v.parentMemberPubkey, v.sessionPubkey, v.timestamp);
    expect(v).toEqual({
      sessionSeedHex: v.sessionSeedHex,
      meshId: v.meshId,
      parentMemberPubkey: vec("key-owner").publicKey,
      sessionPubkey: keysFrom(v.sessionSeedHex).publicKey,
      timestamp: v.timestamp,
      canonical,
      signature: sign(canonical, v.sessionSeedHex),
    });
    expect(verifyDetached(v.signature, canonical, v.sessionPubkey)).toBe(true);
  });

  test("invite key (§3.4b): the issuer binds the invite key of the claim vector", () => {
    const v = vec("invite-key");
    const canonical = inviteKeyCanonical(v.meshId, v.inviteId, v.invitePubkey, v.maxUses);
    expect(v).toEqual({ issuerSeedHex: v.issuerSeedHex, meshId: v.meshId, inviteId: v.inviteId, invitePubkey: keysFrom(vec("invite-claim").inviteSeedHex).publicKey, maxUses: 1, canonical, signature: sign(canonical, v.issuerSeedHex) });
    expect(verifyDetached(v.signature, canonical, vec("invite-v2").issuerPubkey)).toBe(true);
    const v1 = vec("invite-key-v1");
    const v1Canonical = inviteKeyCanonicalV1(v1.meshId, v1.inviteId, v1.invitePubkey);
    expect(v1).toEqual({ issuerSeedHex: v.issuerSeedHex, meshId: v.meshId, inviteId: v.inviteId, invitePubkey: v.invitePubkey, canonical: v1Canonical, signature: sign(v1Canonical, v.issuerSeedHex) });
  });

  test("invite v2 (expiresAt in seconds)", () => {
    const v = vec("invite-v2");
    const canonical = inviteCanonical(v.meshId, v.inviteId, v.expiresAt, v.role, v.issuerPubkey);
    expect(v).toEqual({
      issuerSeedHex: v.issuerSeedHex,
      meshId: v.meshId,
      inviteId: v.inviteId,
      expiresAt: v.expiresAt,
      role: v.role,
      issuerPubkey: keysFrom(v.issuerSeedHex).publicKey,
      canonical,
      signature: sign(canonical, v.issuerSeedHex),
    });
    expect(canonical.startsWith("v=2|")).toBe(true);
    expect(v.expiresAt).toBeLessThan(1e11); // seconds, not milliseconds
  });

  test("invite claim: one canonical string, two signatures", () => {
    const v = vec("invite-claim");
    const canonical = inviteClaimCanonical(v.inviteId, v.joinerPubkey, v.timestamp);
    expect(v).toEqual({
      inviteSeedHex: v.inviteSeedHex,
      joinerSeedHex: v.joinerSeedHex,
      inviteId: v.inviteId,
      invitePubkey: keysFrom(v.inviteSeedHex).publicKey,
      joinerPubkey: keysFrom(v.joinerSeedHex).publicKey,
      timestamp: v.timestamp,
      canonical,
      inviteSignature: sign(canonical, v.inviteSeedHex),
      signature: sign(canonical, v.joinerSeedHex),
    });
    expect(verifyDetached(v.inviteSignature, canonical, v.invitePubkey)).toBe(true);
    expect(verifyDetached(v.signature, canonical, v.joinerPubkey)).toBe(true);
  });

  test("signed request (sha256 of the exact body)", () => {
    const v = vec("signed-request");
    const bodySha256 = sha256Hex(v.body);
    const canonical = requestCanonical(v.method, v.path, v.timestamp, bodySha256);
    expect(v).toEqual({ seedHex: v.seedHex, method: v.method, path: v.path, timestamp: v.timestamp, body: v.body, bodySha256, canonical, signature: sign(canonical, v.seedHex) });
    expect(canonical).toBe(`claudemesh-request|POST|${v.path}|${v.timestamp}|${bodySha256}`);
  });

  test("dashboard login (expiresAt in ms, within the link TTL of the hello vector's time)", () => {
    const v = vec("dashboard-login");
    const canonical = dashboardLoginCanonical(v.meshId, v.memberId, v.nonce, v.expiresAt);
    expect(v).toEqual({ seedHex: v.seedHex, meshId: v.meshId, memberId: v.memberId, pubkey: keysFrom(v.seedHex).publicKey, nonce: v.nonce, expiresAt: v.expiresAt, canonical, signature: sign(canonical, v.seedHex) });
    expect(canonical).toBe(`claudemesh-dashboard-login|${v.meshId}|${v.memberId}|${v.nonce}|${v.expiresAt}`);
    expect(v.expiresAt - vec("hello").timestamp).toBe(DASHBOARD_LINK_TTL_MS);
  });
});

describe("canonical JSON and the audit chain", () => {
  for (const name of ["canonical-json", "canonical-json-unicode"]) {
    test(name, () => {
      const v = vec(name);
      expect(v).toEqual({ input: v.input, canonical: canonicalJson(v.input) });
      // Canonical output is a fixed point: parsing it and canonicalising again changes nothing.
      expect(canonicalJson(JSON.parse(v.canonical))).toBe(v.canonical);
    });
  }

  test("audit hash of one entry with a null actor", () => {
    const v = vec("audit-hash");
    const line = `${v.prevHash}|${v.meshId}|${v.eventType}|null|${canonicalJson(v.payload)}|${v.createdAt}`;
    expect(v).toEqual({ prevHash: v.prevHash, meshId: v.meshId, eventType: v.eventType, actor: null, payload: v.payload, createdAt: v.createdAt, line, hash: sha256Hex(line) });
    expect(auditHash(v.prevHash, v.meshId, v.eventType, null, v.payload, v.createdAt)).toBe(v.hash);
  });

  test("audit chain of three entries", () => {
    const v = vec("audit-chain");
    let prev = GENESIS;
    const entries: ChainEntry[] = v.entries.map((e: ChainEntry, i: number) => {
      const hash = auditHash(prev, e.meshId, e.eventType, e.actor, e.payload, e.createdAt);
      const out = { seq: i + 1, meshId: v.meshId, eventType: e.eventType, actor: e.actor, payload: e.payload, createdAt: e.createdAt, prevHash: prev, hash };
      prev = hash;
      return out;
    });
    expect(entries.length).toBe(3);
    expect(v).toEqual({ meshId: v.meshId, entries, head: prev });
    expect(verifyChain(v.entries)).toEqual({ valid: true, entries: 3, head: v.head, brokenAt: null, reason: null });
    expect(vec("audit-hash").prevHash).toBe(v.head);
  });
});

// Session 36: the two rules a client in another language reimplements by hand, name comparison
// (§4.2.1) and the inner payload's exact bytes (§11.1), had examples in prose only.
describe("name skeletons and the inner payload encoding", () => {
  test("name-skeleton: each name's skeleton under the rule the code reports", () => {
    const v = vec("name-skeleton");
    expect(v.rule).toBe(NAME_RULE);
    expect(v.cases.length).toBeGreaterThanOrEqual(10);
    expect(v.cases.map((c: V) => ({ name: c.name, letters: letterSkeleton(c.name), skeleton: nameSkeleton(c.name) }))).toEqual(v.cases);
  });

  test("inner-json: the exact text and bytes, and the near misses a decoder refuses", () => {
    const v = vec("inner-json");
    const { v: version, ...fields } = v.inner;
    expect(version).toBe(1);
    const json = encodeInner(fields);
    expect(json).toBe(v.json);
    const bytes = Buffer.from(json, "utf8");
    expect({ length: bytes.length, sha256: sha256Hex(bytes) }).toEqual({ length: v.utf8Length, sha256: v.utf8Sha256 });
    expect(parseInner(v.json)).toEqual(v.inner);
    for (const [from, to] of v.refusedEdits as [string, string][]) {
      expect({ from, present: v.json.includes(from) }).toEqual({ from, present: true });
      expect({ to, parsed: parseInner(v.json.replace(from, to)) }).toEqual({ to, parsed: null });
    }
  });
});

describe("the signed examples in the doc carry the vectors' values", () => {
  const frames = fencedBlocks(DOC)
    .filter((b) => /^json frame\b/.test(b.info))
    .map((b) => JSON.parse(b.body));
  const only = (pred: (f: any) => boolean) => {
    const found = frames.filter(pred);
    expect(found.length).toBe(1);
    return found[0];
  };
  const bodies = (schema: string) => fencedBlocks(DOC).filter((b) => b.info === `json http-body ${schema}`);

  test("hello frame", () => {
    const f = only((x) => x.type === "hello");
    const v = vec("hello");
    expect({ meshId: f.meshId, memberId: f.memberId, pubkey: f.pubkey, timestamp: f.timestamp, signature: f.signature }).toEqual({ meshId: v.meshId, memberId: v.memberId, pubkey: v.pubkey, timestamp: v.timestamp, signature: v.signature });
  });

  test("session_hello frame", () => {
    const f = only((x) => x.type === "session_hello");
    const a = vec("session-attestation");
    const s = vec("session-hello");
    expect(f.attestation).toEqual({ sessionPubkey: a.sessionPubkey, parentMemberPubkey: a.parentMemberPubkey, expiresAt: a.expiresAt, signature: a.signature });
    expect(verifyDetached(f.signature, sessionHelloCanonical(f.meshId, f.parentMemberPubkey, f.sessionPubkey, f.timestamp), f.sessionPubkey)).toBe(true);
    expect(f.signature).toBe(s.signature);
  });

  test("invite_create frame", () => {
    const f = only((x) => x.type === "invite_create");
    const v = vec("invite-v2");
    const k = vec("invite-key");
    expect({ inviteId: f.inviteId, expiresAt: f.expiresAt, role: f.role, signature: f.signature, invitePubkey: f.invitePubkey, maxUses: f.maxUses, keySignature: f.keySignature }).toEqual({ inviteId: v.inviteId, expiresAt: v.expiresAt, role: v.role, signature: v.signature, invitePubkey: vec("key-invite").publicKey, maxUses: k.maxUses, keySignature: k.signature });
  });

  test("dashboard login body", () => {
    const body = JSON.parse(bodies("DashboardLoginBody")[0]!.body);
    const v = vec("dashboard-login");
    expect(body).toEqual({ meshId: v.meshId, memberId: v.memberId, nonce: v.nonce, expiresAt: v.expiresAt, signature: v.signature });
  });

  test("invite claim body and signed create-mesh request", () => {
    const claim = JSON.parse(bodies("ClaimInviteBody")[0]!.body);
    const c = vec("invite-claim");
    expect({ pubkey: claim.pubkey, timestamp: claim.timestamp, inviteSignature: claim.inviteSignature, signature: claim.signature }).toEqual({ pubkey: c.joinerPubkey, timestamp: c.timestamp, inviteSignature: c.inviteSignature, signature: c.signature });
    const r = vec("signed-request");
    expect(bodies("CreateMeshBody")[0]!.body).toBe(r.body); // byte-exact: the hash covers these bytes
    expect(DOC).toContain(`x-claudemesh-signature: ${r.signature}`);
    expect(DOC).toContain(`x-claudemesh-timestamp: ${r.timestamp}`);
  });
});
