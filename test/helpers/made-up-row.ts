// A member row a lying broker makes up (for member_list or member_lookup): admission evidence for a
// key of its choosing, signed, as far as anyone signs it, by a key of the broker's. Every field is
// well formed and every signature verifies against the key that made it; what cannot be made is a
// signature by the mesh owner, which is what the clients' checks (src/client/admission.ts) trace.
import { signDetached, generateSigningKeypair, type SigningKeypair } from "../../src/crypto/sign.ts";
import { inviteCanonical, inviteClaimCanonical, inviteKeyCanonical } from "../../src/protocol/canonical.ts";
import type { ListedMember } from "../../src/protocol/results.ts";

/** A row for `key` named "bob", enrolled through an invite of one use signed by `signer` and shown
 *  as `issuer`'s. */
export function madeUpRow(meshId: string, key: string, role: "admin" | "member", signer: SigningKeypair, issuer: string): ListedMember {
  const invite = generateSigningKeypair();
  const inviteId = `inv_${key.slice(0, 12)}`;
  const expiresAt = Math.floor(Date.now() / 1000) + 3600;
  const claimedAt = Date.now();
  return {
    memberId: `mbr_${key.slice(0, 12)}`, pubkey: key, displayName: "bob", role, joinedAt: claimedAt, revokedAt: null, revokedReason: null, revokedBy: null, banned: false,
    admission: {
      inviteId, role, maxUses: 1, expiresAt, issuerPubkey: issuer,
      inviteSignature: signDetached(inviteCanonical(meshId, inviteId, expiresAt, role, issuer), signer.secretKey),
      invitePubkey: invite.publicKey,
      keySignature: signDetached(inviteKeyCanonical(meshId, inviteId, invite.publicKey, 1), signer.secretKey),
      claimedAt, claimSignature: signDetached(inviteClaimCanonical(inviteId, key, claimedAt), invite.secretKey),
    },
  };
}
