// SessionAttestor, the one source of a session's attestations (hellos, `attest` refreshes, and the
// copy sealed into each message): renewed by each hello, otherwise reused until 80 % of the
// lifetime has passed; every one it hands out verifies against the member key.
import { describe, expect, test } from "bun:test";
import { SessionAttestor, buildHello } from "../../src/client/credentials.ts";
import { attestationSignatureValid } from "../../src/crypto/attestation.ts";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";
import type { SessionHelloFrame } from "../../src/protocol/frames.ts";

const member = generateSigningKeypair();
const session = generateSigningKeypair();
const T0 = 1_767_225_600_000;

describe("SessionAttestor", () => {
  test("reuses an attestation until 80 % of its lifetime, then renews it", () => {
    const a = new SessionAttestor(member, session.publicKey, 10_000);
    const first = a.current(T0);
    expect({ ...first, signature: attestationSignatureValid(first) }).toEqual({ sessionPubkey: session.publicKey, parentMemberPubkey: member.publicKey, expiresAt: T0 + 10_000, signature: true });
    expect(a.renewAt()).toBe(T0 + 8_000);
    expect(a.current(T0 + 7_999)).toBe(first);
    const second = a.current(T0 + 8_000);
    expect({ expiresAt: second.expiresAt, valid: attestationSignatureValid(second) }).toEqual({ expiresAt: T0 + 18_000, valid: true });
    // A machine waking long after expiry gets a valid one at once.
    expect(a.current(T0 + 1_000_000).expiresAt).toBe(T0 + 1_010_000);
  });

  test("every session hello mints a new attestation, which the shared attestor hands out from then on", () => {
    const a = new SessionAttestor(member, session.publicKey);
    const before = a.current(T0);
    const hello = buildHello({ kind: "session", meshId: "mesh_attestor1", memberId: "mbr_attestor1", memberKeys: member, sessionKeys: session, attestor: a }, { sessionId: "s", pid: 1, cwd: "/" }, T0 + 1000) as SessionHelloFrame;
    expect({ expiresAt: hello.attestation.expiresAt, valid: attestationSignatureValid(hello.attestation) }).toEqual({ expiresAt: T0 + 1000 + a.ttlMs, valid: true });
    expect(hello.attestation).not.toBe(before);
    expect(a.current(T0 + 2000)).toBe(hello.attestation);
  });
});
