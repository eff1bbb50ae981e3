// The invite secret: 32 random bytes carried in the invite link and never sent to the broker.
// Whoever holds the link can derive
//   - the invite signing keypair: signingKeypairFromSeed(BLAKE2b-256(key = s, "claudemesh-invite-sign-v1")),
//     whose public key the inviter registers, so a claim signed with it proves the joiner has the link;
//   - the keys-blob key: BLAKE2b-256(key = s, "claudemesh-invite-keys-v1"), which seals the mesh
//     keys the inviter leaves with the broker for the joiner.
// Keys blob wire: base64(24-byte random nonce ‖ XChaCha20-Poly1305 ciphertext), associated data
// "claudemesh-invite-keys-v1|<inviteId>", at most MAX_KEYS_BLOB_B64_LEN characters.
// Note: anyone who later reads a used link can still derive both keys; the broker must refuse a
// second claim and should delete the blob once claimed (DESIGN.md §4 item 2).
import { aeadOpen, aeadSeal, AEAD_NONCE_BYTES, AEAD_TAG_BYTES } from "./aead.ts";
import { fromBase64, fromBase64Url, toBase64, toBase64Url, utf8 } from "./encoding.ts";
import { ID_RE } from "./fields.ts";
import { signingKeypairFromSeed, type SigningKeypair } from "./sign.ts";
import { sodium } from "./sodium.ts";

export const INVITE_SECRET_BYTES = 32;
/** Same bound as the protocol's KeysBlob field (16 KiB of base64). */
export const MAX_KEYS_BLOB_B64_LEN = 16 * 1024;
const SIGN_LABEL = "claudemesh-invite-sign-v1";
const KEYS_LABEL = "claudemesh-invite-keys-v1";
const utf8Strict = new TextDecoder("utf-8", { fatal: true });

function checkSecret(s: Uint8Array): void {
  if (s.length !== INVITE_SECRET_BYTES) throw new TypeError("invite secret must be 32 bytes");
}

const derive = (s: Uint8Array, label: string): Uint8Array => {
  checkSecret(s);
  return sodium.crypto_generichash(32, utf8(label), s);
};

export function newInviteSecret(): Uint8Array {
  return sodium.randombytes_buf(INVITE_SECRET_BYTES);
}

/** The secret as it appears in a link: base64url without padding (43 characters). */
export const encodeInviteSecret = (s: Uint8Array): string => (checkSecret(s), toBase64Url(s));

/** The secret from a link, or null if it is not exactly 43 base64url characters of 32 bytes. */
export function decodeInviteSecret(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]{43}$/.test(text)) return null;
  const s = fromBase64Url(text);
  return s.length === INVITE_SECRET_BYTES && toBase64Url(s) === text ? s : null;
}

/** Deterministic ed25519 keypair of the invite. Throws TypeError unless `s` is 32 bytes. */
export const inviteSigningKeypair = (s: Uint8Array): SigningKeypair => signingKeypairFromSeed(derive(s, SIGN_LABEL));

/** Deterministic 32-byte key of the keys blob. Throws TypeError unless `s` is 32 bytes. */
export const inviteBlobKey = (s: Uint8Array): Uint8Array => derive(s, KEYS_LABEL);

const blobAd = (inviteId: string): Uint8Array => {
  if (!ID_RE.test(inviteId)) throw new TypeError("invalid invite id");
  return utf8(`${KEYS_LABEL}|${inviteId}`);
};

/** Seals `json` (any UTF-8 text; by convention JSON) for the holder of the link of `inviteId`.
 *  Throws TypeError on a bad secret or invite id, RangeError if the result would exceed
 *  MAX_KEYS_BLOB_B64_LEN (the caller sends fewer keys). */
export function sealKeysBlob(json: string, s: Uint8Array, inviteId: string): string {
  const { nonce, ciphertext } = aeadSeal(utf8(json), blobAd(inviteId), inviteBlobKey(s));
  const out = new Uint8Array(nonce.length + ciphertext.length);
  out.set(nonce);
  out.set(ciphertext, nonce.length);
  const b64 = toBase64(out);
  if (b64.length > MAX_KEYS_BLOB_B64_LEN) throw new RangeError(`keys blob exceeds ${MAX_KEYS_BLOB_B64_LEN} characters`);
  return b64;
}

/** The text sealed by sealKeysBlob, or null if the blob is malformed, too large, tampered with,
 *  or sealed with another secret or invite id. Never throws (a bad invite id gives null). */
export function openKeysBlob(b64: string, s: Uint8Array, inviteId: string): string | null {
  if (b64.length > MAX_KEYS_BLOB_B64_LEN || s.length !== INVITE_SECRET_BYTES || !ID_RE.test(inviteId)) return null;
  try {
    const bytes = fromBase64(b64);
    if (bytes.length < AEAD_NONCE_BYTES + AEAD_TAG_BYTES) return null;
    const plain = aeadOpen(bytes.subarray(AEAD_NONCE_BYTES), blobAd(inviteId), bytes.subarray(0, AEAD_NONCE_BYTES), inviteBlobKey(s));
    return plain && utf8Strict.decode(plain);
  } catch {
    return null; // not base64, or not UTF-8
  }
}
