// What a client proves itself with, and the signed hello frames built from it.
import { attestationCanonical, helloCanonical, sessionHelloCanonical } from "../protocol/canonical.ts";
import type { HelloFrame, SessionHelloFrame, AttestationFields } from "../protocol/frames.ts";
import { signDetached, type SigningKeypair } from "../crypto/sign.ts";

export type MemberCredentials = { kind: "member"; meshId: string; memberId: string; keys: SigningKeypair };
export type SessionCredentials = {
  kind: "session";
  meshId: string;
  memberId: string;
  /** The member key signs attestations; only its public half is sent. */
  memberKeys: SigningKeypair;
  sessionKeys: SigningKeypair;
  /** Attestation lifetime in ms (≤ 24 h); refreshed on every connect. */
  attestationTtlMs?: number;
};
export type Credentials = MemberCredentials | SessionCredentials;

export type Whereabouts = { sessionId: string; pid: number; cwd: string; hostname?: string; displayName?: string; receive?: "push" | "pull" };

export const DEFAULT_ATTESTATION_TTL_MS = 12 * 60 * 60 * 1000;

/** The key this client's mailbox and identity use. */
export const identityKey = (c: Credentials): string => (c.kind === "member" ? c.keys.publicKey : c.sessionKeys.publicKey);

export function makeAttestation(memberKeys: SigningKeypair, sessionPubkey: string, expiresAt: number): AttestationFields {
  return {
    sessionPubkey,
    parentMemberPubkey: memberKeys.publicKey,
    expiresAt,
    signature: signDetached(attestationCanonical(memberKeys.publicKey, sessionPubkey, expiresAt), memberKeys.secretKey),
  };
}

// The broker accepts each signed hello once, and ed25519 is deterministic: two hellos by one key
// in the same millisecond would be byte-identical and the second refused as a replay. So this
// process never signs two hellos with the same timestamp for a key.
const lastTimestamp = new Map<string, number>();

/** A millisecond timestamp strictly greater than any this process used before for `pubkey`. */
export function freshTimestamp(pubkey: string, now = Date.now()): number {
  const ts = Math.max(now, (lastTimestamp.get(pubkey) ?? 0) + 1);
  lastTimestamp.set(pubkey, ts);
  return ts;
}

/** A freshly signed hello for these credentials (new timestamp, so never a replay). */
export function buildHello(c: Credentials, where: Whereabouts, at?: number): HelloFrame | SessionHelloFrame {
  const now = at ?? freshTimestamp(identityKey(c));
  if (c.kind === "member") {
    return {
      type: "hello",
      meshId: c.meshId,
      memberId: c.memberId,
      pubkey: c.keys.publicKey,
      ...where,
      timestamp: now,
      signature: signDetached(helloCanonical(c.meshId, c.memberId, c.keys.publicKey, now), c.keys.secretKey),
    };
  }
  const expiresAt = now + (c.attestationTtlMs ?? DEFAULT_ATTESTATION_TTL_MS);
  return {
    type: "session_hello",
    meshId: c.meshId,
    parentMemberId: c.memberId,
    parentMemberPubkey: c.memberKeys.publicKey,
    sessionPubkey: c.sessionKeys.publicKey,
    attestation: makeAttestation(c.memberKeys, c.sessionKeys.publicKey, expiresAt),
    ...where,
    timestamp: now,
    signature: signDetached(sessionHelloCanonical(c.meshId, c.memberKeys.publicKey, c.sessionKeys.publicKey, now), c.sessionKeys.secretKey),
  };
}
