// Making an invite, client-side: sign §3.4 with the inviter's member key, derive the invite key
// from a fresh link secret, seal the mesh keys for whoever holds the link, and encode the link.
// The result's `frame` is what the broker gets (invite_create, or POST /v1/dashboard/invites):
// public halves and sealed bytes only. Used by `claudemesh invite` and by the dashboard page.
import { inviteCanonical, inviteKeyCanonical } from "../protocol/canonical.ts";
import { signDetached } from "../crypto/sign.ts";
import { encodeInviteSecret, inviteSigningKeypair, newInviteSecret, sealKeysBlob } from "../crypto/invite-secret.ts";
import { encodeInvite } from "./invite-link.ts";

/** The plaintext of a `keys` message and of an invite's keys blob (§11.5). */
export const keysBody = (keys: readonly { epoch: number; key: string }[]): string => JSON.stringify({ keys });

export type InviteSpec = {
  /** A fresh invite id (8–64 of A-Z a-z 0-9 _ -), chosen by the inviter. */
  inviteId: string;
  role: "member" | "admin";
  maxUses: number;
  /** seconds since the epoch */
  expiresAt: number;
};

export type Inviter = {
  brokerUrl: string;
  meshId: string;
  slug: string;
  name: string;
  publicKey: string;
  secretKey: string;
  meshKeys: readonly { epoch: number; key: string }[];
  /** Put in the link so that the joiner need not take the broker's word for it (§11.5). */
  ownerPubkey?: string;
};

export type BuiltInvite = {
  frame: { inviteId: string; expiresAt: number; role: "member" | "admin"; maxUses: number; invitePubkey: string; signature: string; keySignature: string; keysBlob: string };
  link: string;
};

/** Builds a signed invite. Throws TypeError on a bad id and RangeError when the keys do not fit. */
export function buildInvite(inviter: Inviter, spec: InviteSpec): BuiltInvite {
  const secret = newInviteSecret();
  const signature = signDetached(inviteCanonical(inviter.meshId, spec.inviteId, spec.expiresAt, spec.role, inviter.publicKey), inviter.secretKey);
  // §11.5: the joiner gets every epoch, so history sent before it joined stays readable.
  const keysBlob = sealKeysBlob(keysBody(inviter.meshKeys), secret, spec.inviteId);
  const link = encodeInvite({
    v: 2,
    broker: inviter.brokerUrl,
    mesh: inviter.meshId,
    slug: inviter.slug,
    name: inviter.name,
    invite: spec.inviteId,
    exp: spec.expiresAt,
    role: spec.role,
    issuer: inviter.publicKey,
    sig: signature,
    s: encodeInviteSecret(secret),
    ...(inviter.ownerPubkey ? { owner: inviter.ownerPubkey } : {}),
  });
  const invitePubkey = inviteSigningKeypair(secret).publicKey;
  // Binds the invite key and the use limit to this invite, so that the owner can check a claim made
  // with it and count the claims (§11.5).
  const keySignature = signDetached(inviteKeyCanonical(inviter.meshId, spec.inviteId, invitePubkey, spec.maxUses), inviter.secretKey);
  return { frame: { ...spec, invitePubkey, signature, keySignature, keysBlob }, link };
}
