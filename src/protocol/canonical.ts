// Canonical strings: the exact bytes (UTF-8) that are signed. The first four are the seeds'
// wire contract and must stay byte-exact (DESIGN.md §3). Every field except the last is
// restricted by its schema to characters without `|`, so each string is injective.

/** Member hello, signed by the member key. timestamp: ms since the epoch. */
export function helloCanonical(meshId: string, memberId: string, pubkey: string, timestamp: number): string {
  return `${meshId}|${memberId}|${pubkey}|${timestamp}`;
}

/** Session attestation, signed by the parent member key. expiresAt: ms since the epoch. */
export function attestationCanonical(parentMemberPubkey: string, sessionPubkey: string, expiresAt: number): string {
  return `claudemesh-session-attest|${parentMemberPubkey}|${sessionPubkey}|${expiresAt}`;
}

/** Session hello, signed by the session key. timestamp: ms since the epoch. */
export function sessionHelloCanonical(meshId: string, parentMemberPubkey: string, sessionPubkey: string, timestamp: number): string {
  return `claudemesh-session-hello|${meshId}|${parentMemberPubkey}|${sessionPubkey}|${timestamp}`;
}

/** Invite v2, signed by the issuing owner or admin (the last field is the issuer's key).
 *  expiresAt: seconds since the epoch, as in the seeds. */
export function inviteCanonical(meshId: string, inviteId: string, expiresAt: number, role: string, issuerPubkey: string): string {
  return `v=2|${meshId}|${inviteId}|${expiresAt}|${role}|${issuerPubkey}`;
}

/** The issuer's binding of an invite's key and use limit to the invite (§3.4b): with it, a
 *  member's claim signature (§3.5, by this key) proves to the mesh owner, not only to the broker,
 *  that whoever enrolled held a link the issuer made, and the owner can count the enrolments
 *  against a limit the broker cannot raise. */
export function inviteKeyCanonical(meshId: string, inviteId: string, invitePubkey: string, maxUses: number): string {
  return `claudemesh-invite-key-v2|${meshId}|${inviteId}|${invitePubkey}|${maxUses}`;
}

/** §3.4b as clients before the use limit was signed made it: still accepted, with no signed limit. */
export function inviteKeyCanonicalV1(meshId: string, inviteId: string, invitePubkey: string): string {
  return `claudemesh-invite-key|${meshId}|${inviteId}|${invitePubkey}`;
}

/** Invite claim, signed twice: by the invite key (proves the joiner holds the link) and by the
 *  joiner's new member key (proves possession of the key being enrolled). timestamp: ms. */
export function inviteClaimCanonical(inviteId: string, joinerPubkey: string, timestamp: number): string {
  return `claudemesh-invite-claim|${inviteId}|${joinerPubkey}|${timestamp}`;
}

/** A signed HTTP request: binds method, path, time and the SHA-256 (hex) of the exact body bytes.
 *  Sent as the X-Claudemesh-{Pubkey,Timestamp,Signature} headers. timestamp: ms. */
export function requestCanonical(method: string, path: string, timestamp: number, bodySha256Hex: string): string {
  return `claudemesh-request|${method.toUpperCase()}|${path}|${timestamp}|${bodySha256Hex}`;
}

/** Dashboard login link, signed by the member key: the broker exchanges it once for a session
 *  cookie of that member in that mesh. nonce: a fresh Id per link; expiresAt: ms since the epoch,
 *  at most DASHBOARD_LINK_TTL_MS after signing. */
export function dashboardLoginCanonical(meshId: string, memberId: string, nonce: string, expiresAt: number): string {
  return `claudemesh-dashboard-login|${meshId}|${memberId}|${nonce}|${expiresAt}`;
}
