// The session attestation as a recipient checks it: a member key vouching for a session key.
// The canonical string must equal src/protocol/canonical.ts attestationCanonical (DESIGN.md §3);
// crypto/ is a leaf and keeps its own copy, and a unit test holds the two equal.
import { verifyDetached } from "./sign.ts";

export type SessionAttestation = { sessionPubkey: string; parentMemberPubkey: string; expiresAt: number; signature: string };

/** `claudemesh-session-attest|<parent_member_pubkey>|<session_pubkey>|<expires_at_ms>` */
export const attestationCanonical = (parentMemberPubkey: string, sessionPubkey: string, expiresAt: number): string =>
  `claudemesh-session-attest|${parentMemberPubkey}|${sessionPubkey}|${expiresAt}`;

/** True only if the parent member key signed this attestation. Says nothing about expiry: the
 *  caller compares `expiresAt` with the time that matters to it. Never throws. */
export function attestationSignatureValid(att: SessionAttestation): boolean {
  return verifyDetached(att.signature, attestationCanonical(att.parentMemberPubkey, att.sessionPubkey, att.expiresAt), att.parentMemberPubkey);
}
