// What a client proves itself with, and the signed hello frames built from it.
import { attestationCanonical, helloCanonical, sessionHelloCanonical } from "../protocol/canonical.ts";
import type { HelloFrame, SessionHelloFrame, AttestationFields } from "../protocol/frames.ts";
import { signDetached, type SigningKeypair } from "../crypto/sign.ts";
import { HELLO_SKEW_MS } from "../protocol/limits.ts";

export type MemberCredentials = { kind: "member"; meshId: string; memberId: string; keys: SigningKeypair };
export type SessionCredentials = {
  kind: "session";
  meshId: string;
  memberId: string;
  /** The member key signs attestations; only its public half is sent. */
  memberKeys: SigningKeypair;
  sessionKeys: SigningKeypair;
  /** Attestation lifetime in ms (≤ 24 h). */
  attestationTtlMs?: number;
  /** The session's attestations, when other code (sealing messages) shares them; otherwise the
   *  client makes its own from the keys above and attestationTtlMs. */
  attestor?: SessionAttestor;
};
export type Credentials = MemberCredentials | SessionCredentials;

/** Where the client runs and how it receives, as its hello says (§4.3.1); `events`: the event
 *  pushes it subscribes to (absent: all). */
export type Whereabouts = { sessionId: string; pid: number; cwd: string; hostname?: string; displayName?: string; receive?: "push" | "pull"; events?: string[] };

export const DEFAULT_ATTESTATION_TTL_MS = 12 * 60 * 60 * 1000;

/** The key this client's mailbox and identity use. */
export const identityKey = (c: Credentials): string => (c.kind === "member" ? c.keys.publicKey : c.sessionKeys.publicKey);

/** Signs one attestation: the member key vouches for `sessionPubkey` until `expiresAt` (ms). */
export function makeAttestation(memberKeys: SigningKeypair, sessionPubkey: string, expiresAt: number): AttestationFields {
  return {
    sessionPubkey,
    parentMemberPubkey: memberKeys.publicKey,
    expiresAt,
    signature: signDetached(attestationCanonical(memberKeys.publicKey, sessionPubkey, expiresAt), memberKeys.secretKey),
  };
}

/** Part of an attestation's lifetime left when it is renewed (renewal at 80 % of the lifetime). */
const RENEW_WHEN_LEFT = 0.2;

/** The one source of a session's attestations: its hellos, its `attest` refreshes and the copy
 *  sealed into each message it sends all take them from here. Each hello renews it; between
 *  hellos one is reused until 80 % of its lifetime has passed (by the wall clock, so a machine
 *  waking from sleep renews at once), so every one handed out is valid for at least 20 % of the TTL. */
export class SessionAttestor {
  private att: AttestationFields | null = null;

  constructor(
    private readonly memberKeys: SigningKeypair,
    readonly sessionPubkey: string,
    readonly ttlMs = DEFAULT_ATTESTATION_TTL_MS,
  ) {}

  /** The attestation to use now. */
  current(now = Date.now()): AttestationFields {
    return this.att && now < this.renewAt() ? this.att : this.renew(now);
  }

  /** A new attestation, valid for ttlMs from `now`, which current() returns from then on. */
  renew(now = Date.now()): AttestationFields {
    this.att = makeAttestation(this.memberKeys, this.sessionPubkey, now + this.ttlMs);
    return this.att;
  }

  /** When (ms since the epoch) current() stops returning the attestation it has. */
  renewAt(): number {
    return this.att ? this.att.expiresAt - Math.floor(this.ttlMs * RENEW_WHEN_LEFT) : 0;
  }
}

/** The attestor a session's credentials use: the shared one, or a new one from their keys. */
export const attestorOf = (c: SessionCredentials): SessionAttestor => c.attestor ?? new SessionAttestor(c.memberKeys, c.sessionKeys.publicKey, c.attestationTtlMs);

// The broker accepts each signed hello, signed request and invite claim once, and ed25519 is
// deterministic: two of them by one key in the same millisecond (the same hook status twice, say)
// would be byte-identical and the second refused as a replay. So this process does not sign two
// with the same timestamp for a key.
const lastTimestamp = new Map<string, number>();

/** How far behind the last timestamp used the clock may read and still be stepped past it.
 *  Further back, the clock itself was set back (NTP, a manual fix): a timestamp ahead of it by as
 *  much would be refused as timestamp_skew until it caught up, so the clock is followed. */
const STEP_BACK_MS = HELLO_SKEW_MS / 2;

/** A millisecond timestamp greater than the last this process used for `pubkey`, unless the clock
 *  went back more than STEP_BACK_MS since: then the clock's reading. */
export function freshTimestamp(pubkey: string, now = Date.now()): number {
  const last = lastTimestamp.get(pubkey);
  const ts = last !== undefined && now <= last && last - now < STEP_BACK_MS ? last + 1 : now;
  lastTimestamp.set(pubkey, ts);
  return ts;
}

/** A freshly signed hello for these credentials (new timestamp, so never a replay). A session
 *  hello carries a newly minted attestation (docs/protocol.md §2.4: the 24 h bound counts from the
 *  broker's check), which `attestor`, when given, hands out from then on. */
export function buildHello(c: Credentials, where: Whereabouts, at?: number, attestor?: SessionAttestor): HelloFrame | SessionHelloFrame {
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
  return {
    type: "session_hello",
    meshId: c.meshId,
    parentMemberId: c.memberId,
    parentMemberPubkey: c.memberKeys.publicKey,
    sessionPubkey: c.sessionKeys.publicKey,
    attestation: (attestor ?? attestorOf(c)).renew(now),
    ...where,
    timestamp: now,
    signature: signDetached(sessionHelloCanonical(c.meshId, c.memberKeys.publicKey, c.sessionKeys.publicKey, now), c.sessionKeys.secretKey),
  };
}
