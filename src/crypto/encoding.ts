// Byte encodings used on the wire: lowercase hex for keys and signatures, standard base64 for
// nonces and ciphertexts, base64url (no padding) inside links.

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
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");
}

export function fromBase64Url(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new TypeError("invalid base64url");
  return new Uint8Array(Buffer.from(text, "base64url"));
}

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
