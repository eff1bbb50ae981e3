// Direct messages: crypto_box (X25519 + XSalsa20-Poly1305) between the sender's and the
// recipient's ed25519 identities, converted to curve25519 (DESIGN.md §3). The X25519 step is
// precomputed once per key pair (crypto_box_beforenm) and kept in a bounded LRU.
//
// Wire: nonce = base64(24 random bytes); ciphertext = base64(0x01 ‖ crypto_box_easy_afternm output).
// Properties (reliability.md §0): confidentiality and pairwise authenticity; no forward secrecy, no
// replay protection and no context binding at this layer — envelope.ts adds the last two.
import { sodium } from "./sodium.ts";
import { fromBase64, fromHex, toBase64 } from "./encoding.ts";
import { PUBKEY_RE, SECRET_KEY_RE } from "./fields.ts";

/** What the broker stores and routes for any encrypted message. */
export type Sealed = { nonce: string; ciphertext: string };

/** First byte of every direct-message ciphertext. */
export const DIRECT_VERSION = 0x01;
export const BOX_NONCE_BYTES = 24;
const MAC_BYTES = 16;
/** Largest decoded ciphertext we attempt to open: a memory cap that fits any valid envelope (a
 *  fan-out wrapper is at most twice the 400 KiB inner payload). The broker's frame cap is smaller. */
export const MAX_SEALED_BYTES = 1024 * 1024;
/** The same cap on the base64 text, checked before decoding. */
export const MAX_SEALED_B64_LEN = Math.ceil(MAX_SEALED_BYTES / 3) * 4;
/** Default number of precomputed shared keys kept: enough for every peer of a large mesh. */
export const BOX_CACHE_ENTRIES = 4096;

const isAllZero = (b: Uint8Array): boolean => b.every((x) => x === 0);

/** The X25519 public key of an ed25519 public key (hex), or null if it is malformed, not on the
 *  curve, or of small order (libsodium refuses those; we also refuse an all-zero result). */
export function curvePublicKey(edPubHex: string): Uint8Array | null {
  if (!PUBKEY_RE.test(edPubHex)) return null;
  try {
    const pk = sodium.crypto_sign_ed25519_pk_to_curve25519(fromHex(edPubHex));
    return isAllZero(pk) ? null : pk;
  } catch {
    return null;
  }
}

/** The X25519 secret key of an ed25519 secret key (128 hex), or null if malformed. */
export function curveSecretKey(edSecretHex: string): Uint8Array | null {
  if (!SECRET_KEY_RE.test(edSecretHex)) return null;
  try {
    return sodium.crypto_sign_ed25519_sk_to_curve25519(fromHex(edSecretHex));
  } catch {
    return null;
  }
}

/** crypto_box_beforenm on converted keys, or null if either key is unusable or the shared secret
 *  would be all zeros (a low-order public key). Never throws. */
function precompute(theirEdPubHex: string, myEdSecretHex: string): Uint8Array | null {
  const pk = curvePublicKey(theirEdPubHex);
  const sk = curveSecretKey(myEdSecretHex);
  if (!pk || !sk) return null;
  try {
    const k = sodium.crypto_box_beforenm(pk, sk);
    return isAllZero(k) ? null : k;
  } catch {
    return null; // libsodium returns -1 (wrappers throw) for an all-zero X25519 output
  } finally {
    sodium.memzero(sk);
  }
}

/**
 * Precomputed crypto_box shared keys per (my secret key, their public key), least recently used
 * evicted past `maxEntries`. Evicted keys are wiped. Not shared between processes; one per client.
 */
export class BoxCache {
  readonly #max: number;
  readonly #keys = new Map<string, Uint8Array>();
  /** crypto_box_beforenm calls made (misses) and lookups served from memory (hits). */
  readonly stats = { hits: 0, misses: 0 };

  constructor(maxEntries = BOX_CACHE_ENTRIES) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new RangeError("maxEntries must be a positive integer");
    this.#max = maxEntries;
  }

  get size(): number {
    return this.#keys.size;
  }

  /** The shared key, or null if a key is unusable. Borrowed: valid only until the next call. */
  sharedKey(theirEdPubHex: string, myEdSecretHex: string): Uint8Array | null {
    const id = `${myEdSecretHex}|${theirEdPubHex}`;
    const hit = this.#keys.get(id);
    if (hit) {
      this.stats.hits++;
      this.#keys.delete(id); // re-insert: Map order is the recency order
      this.#keys.set(id, hit);
      return hit;
    }
    this.stats.misses++;
    const k = precompute(theirEdPubHex, myEdSecretHex);
    if (!k) return null; // invalid keys are not cached: they cost nothing to refuse again
    this.#keys.set(id, k);
    if (this.#keys.size > this.#max) {
      const [oldest, key] = this.#keys.entries().next().value!;
      this.#keys.delete(oldest);
      sodium.memzero(key);
    }
    return k;
  }

  /** Forgets and wipes every key (call on logout or key rotation). */
  clear(): void {
    for (const k of this.#keys.values()) sodium.memzero(k);
    this.#keys.clear();
  }
}

/**
 * Encrypts `plaintext` from the sender's identity to the recipient's, with a fresh random nonce.
 * Throws TypeError if either key is malformed or the recipient key is of small order: the caller
 * reports "cannot encrypt to this peer" and sends nothing.
 */
export function sealDirect(plaintext: Uint8Array, recipientEdPubHex: string, senderEdSecretHex: string, cache = new BoxCache(1)): Sealed {
  const k = cache.sharedKey(recipientEdPubHex, senderEdSecretHex);
  if (!k) throw new TypeError("cannot encrypt: invalid sender secret key or recipient public key");
  const nonce = sodium.randombytes_buf(BOX_NONCE_BYTES);
  const boxed = sodium.crypto_box_easy_afternm(plaintext, nonce, k);
  const out = new Uint8Array(1 + boxed.length);
  out[0] = DIRECT_VERSION;
  out.set(boxed, 1);
  return { nonce: toBase64(nonce), ciphertext: toBase64(out) };
}

/** openDirect on already decoded bytes (`ct` includes the version byte). Null on any failure. */
export function openDirectBytes(nonce: Uint8Array, ct: Uint8Array, senderEdPubHex: string, recipientEdSecretHex: string, cache = new BoxCache(1)): Uint8Array | null {
  if (nonce.length !== BOX_NONCE_BYTES || ct.length < 1 + MAC_BYTES || ct.length > MAX_SEALED_BYTES || ct[0] !== DIRECT_VERSION) return null;
  const k = cache.sharedKey(senderEdPubHex, recipientEdSecretHex);
  if (!k) return null;
  try {
    return sodium.crypto_box_open_easy_afternm(ct.subarray(1), nonce, k);
  } catch {
    return null;
  }
}

/**
 * The plaintext of a direct message from `senderEdPubHex` to the holder of `recipientEdSecretHex`,
 * or null on any failure: bad encoding, wrong version byte, unusable key, or a tag that does not
 * verify (tampered, wrong sender, wrong recipient). Never throws; the caller drops the message.
 */
export function openDirect(sealed: Sealed, senderEdPubHex: string, recipientEdSecretHex: string, cache?: BoxCache): Uint8Array | null {
  try {
    if (sealed.ciphertext.length > MAX_SEALED_B64_LEN) return null;
    return openDirectBytes(fromBase64(sealed.nonce), fromBase64(sealed.ciphertext), senderEdPubHex, recipientEdSecretHex, cache);
  } catch {
    return null; // not base64
  }
}
