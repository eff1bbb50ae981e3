// Ed25519 identities and detached signatures over UTF-8 strings. Keys and signatures are hex.
import { sodium } from "./sodium.ts";
import { fromHex, toHex, utf8 } from "./encoding.ts";
import { PUBKEY_RE, SIGNATURE_RE } from "./fields.ts";

export type SigningKeypair = {
  /** 32-byte ed25519 public key, 64 hex. */
  publicKey: string;
  /** 64-byte ed25519 secret key (seed ‖ public key), 128 hex. Never leaves the owner's machine. */
  secretKey: string;
};

export function generateSigningKeypair(): SigningKeypair {
  const kp = sodium.crypto_sign_keypair();
  return { publicKey: toHex(kp.publicKey), secretKey: toHex(kp.privateKey) };
}

/** Deterministic keypair from a 32-byte seed (used for invite keys and test vectors). */
export function signingKeypairFromSeed(seed: Uint8Array): SigningKeypair {
  if (seed.length !== 32) throw new TypeError("seed must be 32 bytes");
  const kp = sodium.crypto_sign_seed_keypair(seed);
  return { publicKey: toHex(kp.publicKey), secretKey: toHex(kp.privateKey) };
}

/** Signs the UTF-8 bytes of `message`; returns the 64-byte signature as 128 hex. */
export function signDetached(message: string, secretKeyHex: string): string {
  return toHex(sodium.crypto_sign_detached(utf8(message), fromHex(secretKeyHex)));
}

export const isPubkeyHex = (s: string): boolean => PUBKEY_RE.test(s);
export const isSignatureHex = (s: string): boolean => SIGNATURE_RE.test(s);

/** True only if `signatureHex` is a valid ed25519 signature of `message` by `publicKeyHex`.
 *  Malformed input returns false, never throws. */
export function verifyDetached(signatureHex: string, message: string, publicKeyHex: string): boolean {
  if (!SIGNATURE_RE.test(signatureHex) || !PUBKEY_RE.test(publicKeyHex)) return false;
  try {
    return sodium.crypto_sign_verify_detached(fromHex(signatureHex), utf8(message), fromHex(publicKeyHex));
  } catch {
    return false;
  }
}
