// Byte encodings used on the wire: lowercase hex for keys and signatures, standard base64 for
// nonces and ciphertexts, base64url (no padding) inside links.
// Built on the standard Uint8Array base64/hex methods (ES2026; Bun and current browsers), not on
// Buffer, so that the dashboard's browser bundle of src/crypto needs no Node polyfill: the bundle
// `bun build --compile` embeds leaves `node:` imports unresolved.

const HEX_RE = /^(?:[0-9a-f]{2})*$/;

export function toHex(bytes: Uint8Array): string {
  return bytes.toHex();
}

/** Decodes lowercase hex; throws TypeError on odd length or other characters. */
export function fromHex(hex: string): Uint8Array {
  if (!HEX_RE.test(hex)) throw new TypeError("invalid hex");
  return Uint8Array.fromHex(hex);
}

export function toBase64(bytes: Uint8Array): string {
  return bytes.toBase64();
}

/** Decodes standard base64 strictly: the result must re-encode to the same text (padding
 *  included). Throws TypeError otherwise. */
export function fromBase64(b64: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.fromBase64(b64);
  } catch {
    throw new TypeError("invalid base64");
  }
  if (bytes.toBase64() !== b64) throw new TypeError("invalid base64");
  return bytes;
}

export function toBase64Url(bytes: Uint8Array): string {
  return bytes.toBase64({ alphabet: "base64url", omitPadding: true });
}

/** Decodes base64url with or without padding; throws TypeError on other characters or an
 *  impossible length. Callers that need one canonical text re-encode and compare. */
export function fromBase64Url(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new TypeError("invalid base64url");
  try {
    return Uint8Array.fromBase64(text, { alphabet: "base64url", lastChunkHandling: "loose" });
  } catch {
    throw new TypeError("invalid base64url");
  }
}

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
