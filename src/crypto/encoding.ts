// Byte encodings used on the wire: lowercase hex for keys and signatures, standard base64 for
// nonces and ciphertexts, base64url (no padding) inside links.
// Buffer is imported, not taken from the global, so that a browser bundle of this module (the
// dashboard, web/) gets the bundler's Buffer polyfill; that polyfill has no "base64url", so
// base64url is derived from standard base64 here (same bytes, same text as Node's encoder).
import { Buffer } from "node:buffer";

const HEX_RE = /^(?:[0-9a-f]{2})*$/;

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** Decodes lowercase hex; throws TypeError on odd length or other characters. */
export function fromHex(hex: string): Uint8Array {
  if (!HEX_RE.test(hex)) throw new TypeError("invalid hex");
  return new Uint8Array(Buffer.from(hex, "hex"));
}

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/** Decodes standard base64 strictly: the result must re-encode to the same text. */
export function fromBase64(b64: string): Uint8Array {
  const bytes = Buffer.from(b64, "base64");
  if (bytes.toString("base64") !== b64) throw new TypeError("invalid base64");
  return new Uint8Array(bytes);
}

export function toBase64Url(bytes: Uint8Array): string {
  return toBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromBase64Url(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new TypeError("invalid base64url");
  return new Uint8Array(Buffer.from(text.replace(/-/g, "+").replace(/_/g, "/"), "base64"));
}

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
