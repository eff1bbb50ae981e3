// XChaCha20-Poly1305 (IETF) with a fresh random 24-byte nonce per message. Random nonces are safe
// for this cipher at any volume we will see (reliability.md §1.6 item 1); no counter is kept.
import { sodium } from "./sodium.ts";

export const AEAD_KEY_BYTES = 32;
export const AEAD_NONCE_BYTES = 24;
export const AEAD_TAG_BYTES = 16;

/** Encrypts with a new random nonce. Throws TypeError if the key is not 32 bytes (a caller bug). */
export function aeadSeal(plaintext: Uint8Array, ad: Uint8Array, key: Uint8Array): { nonce: Uint8Array; ciphertext: Uint8Array } {
  if (key.length !== AEAD_KEY_BYTES) throw new TypeError("AEAD key must be 32 bytes");
  const nonce = sodium.randombytes_buf(AEAD_NONCE_BYTES);
  return { nonce, ciphertext: sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, ad, null, nonce, key) };
}

/** The plaintext, or null if the tag does not verify under this key, nonce and associated data
 *  (or any input has the wrong length). Never throws. */
export function aeadOpen(ciphertext: Uint8Array, ad: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array | null {
  if (key.length !== AEAD_KEY_BYTES || nonce.length !== AEAD_NONCE_BYTES || ciphertext.length < AEAD_TAG_BYTES) return null;
  try {
    return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, ciphertext, ad, nonce, key);
  } catch {
    return null;
  }
}
