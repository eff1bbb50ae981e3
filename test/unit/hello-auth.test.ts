// The seeds' seven hello cases and the session attestation cases, against the real verification
// code with a small in-memory store (membership, sessions and the replay set).
import { describe, expect, test } from "bun:test";
import { authenticateHello, authenticateSessionHello, checkAttestation, checkSkew } from "../../src/broker/auth.ts";
import { buildHello, makeAttestation } from "../../src/client/credentials.ts";
import { generateSigningKeypair, signDetached } from "../../src/crypto/sign.ts";
import { helloCanonical } from "../../src/protocol/canonical.ts";
import type { HelloFrame, SessionHelloFrame } from "../../src/protocol/frames.ts";
import type { Store } from "../../src/store/types.ts";

const MESH = "mesh-unit-0001";
const member = generateSigningKeypair();
const MEMBER_ID = "member-unit-01";
const where = { sessionId: "s", pid: 1, cwd: "/repo/api" };

function fakeStore(): Store {
  const seen = new Set<string>();
  return {
    getMemberByPubkey: async (meshId: string, pubkey: string) =>
      meshId === MESH && pubkey === member.publicKey ? { id: MEMBER_ID, meshId, pubkey, displayName: "alice", role: "member", revokedAt: null } : null,
    getSession: async () => null,
    rememberSignature: async (sig: string) => (seen.has(sig) ? "replayed" : (seen.add(sig), "recorded")),
  } as unknown as Store;
}

const hello = (ts = Date.now(), keys = member) => buildHello({ kind: "member", meshId: MESH, memberId: MEMBER_ID, keys }, where, ts) as HelloFrame;
const code = (p: Promise<unknown>) => p.then(() => "accepted", (e) => e.code as string);

describe("member hello (seed cases)", () => {
  const now = Date.now();
  test.each([
    ["valid", () => hello(now), "accepted"],
    ["signed with the wrong key", () => ({ ...hello(now), signature: signDetached(helloCanonical(MESH, MEMBER_ID, member.publicKey, now), generateSigningKeypair().secretKey) }), "bad_signature"],
    ["61 s in the past", () => hello(now - 61_000), "timestamp_skew"],
    ["61 s in the future", () => hello(now + 61_000), "timestamp_skew"],
    ["tampered field", () => ({ ...hello(now), memberId: "member-unit-02" }), "bad_signature"],
    ["malformed pubkey hex", () => ({ ...hello(now), pubkey: "zz" + member.publicKey.slice(2) }), "malformed"],
    ["bad signature length", () => ({ ...hello(now), signature: hello(now).signature.slice(0, 126) }), "malformed"],
  ] as const)("%s → %s", async (_name, frame, expected) => {
    expect(await code(authenticateHello(fakeStore(), frame(), now))).toBe(expected);
  });

  test("59 s of skew either way is accepted", async () => {
    expect(await code(authenticateHello(fakeStore(), hello(Date.now() - 59_000), Date.now()))).toBe("accepted");
    expect(await code(authenticateHello(fakeStore(), hello(Date.now() + 59_000), Date.now()))).toBe("accepted");
  });

  test("a key that is not a member is unauthorized; a replay is refused", async () => {
    const store = fakeStore();
    const stranger = generateSigningKeypair();
    expect(await code(authenticateHello(store, hello(Date.now(), stranger), Date.now()))).toBe("unauthorized");
    const h = hello();
    expect(await code(authenticateHello(store, h, Date.now()))).toBe("accepted");
    expect(await code(authenticateHello(store, h, Date.now()))).toBe("replayed");
  });
});

describe("skew window (protocol.md §2.3 check 1: abs(broker clock − timestamp) ≤ 60 000 ms)", () => {
  const now = 1_767_225_600_000;
  test.each([
    [-60_001, "timestamp_skew"],
    [-60_000, "accepted"],
    [60_000, "accepted"],
    [60_001, "timestamp_skew"],
  ])("a timestamp %i ms from the broker clock → %s", (offset, expected) => {
    let got = "accepted";
    try {
      checkSkew(now + offset, now, "Hello");
    } catch (e) {
      got = (e as { code: string }).code;
    }
    expect(got).toBe(expected);
  });

  test("a session hello at ±59 s is accepted, at ±61 s refused", async () => {
    const session = generateSigningKeypair();
    const sessionHello = (ts: number) => buildHello({ kind: "session", meshId: MESH, memberId: MEMBER_ID, memberKeys: member, sessionKeys: session }, where, ts) as SessionHelloFrame;
    const t = Date.now();
    const codes = await Promise.all([-61_000, -59_000, 59_000, 61_000].map((d) => code(authenticateSessionHello(fakeStore(), sessionHello(t + d), t))));
    expect(codes).toEqual(["timestamp_skew", "accepted", "accepted", "timestamp_skew"]);
  });
});

describe("session attestation", () => {
  const session = generateSigningKeypair();
  const now = Date.now();
  test.each([
    ["valid", () => makeAttestation(member, session.publicKey, now + 3_600_000), "ok"],
    ["expired", () => makeAttestation(member, session.publicKey, now - 1), "expired"],
    ["over 24 h", () => makeAttestation(member, session.publicKey, now + 24 * 3_600_000 + 1), "ttl_too_long"],
    ["signed by the wrong key", () => ({ ...makeAttestation(generateSigningKeypair(), session.publicKey, now + 1000), parentMemberPubkey: member.publicKey }), "bad_attestation"],
    ["tampered expiry", () => ({ ...makeAttestation(member, session.publicKey, now + 1000), expiresAt: now + 2000 }), "bad_attestation"],
  ] as const)("%s → %s", (_n, att, expected) => {
    let got = "ok";
    try {
      checkAttestation(att(), member.publicKey, session.publicKey, now);
    } catch (e) {
      got = (e as { code: string }).code;
    }
    expect(got).toBe(expected);
  });

  test("a captured attestation is useless without the session secret key", async () => {
    const real = buildHello({ kind: "session", meshId: MESH, memberId: MEMBER_ID, memberKeys: member, sessionKeys: session }, where) as SessionHelloFrame;
    const thief = generateSigningKeypair();
    const stolen = buildHello({ kind: "session", meshId: MESH, memberId: MEMBER_ID, memberKeys: member, sessionKeys: { publicKey: session.publicKey, secretKey: thief.secretKey } }, where) as SessionHelloFrame;
    const forged: SessionHelloFrame = { ...stolen, attestation: real.attestation };
    expect(await code(authenticateSessionHello(fakeStore(), forged, Date.now()))).toBe("bad_signature");
    expect(await code(authenticateSessionHello(fakeStore(), real, Date.now()))).toBe("accepted");
  });
});
