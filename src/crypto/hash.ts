// Hashes and random identifiers.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** A random URL-safe identifier with `bytes` bytes of entropy (22 characters for 16 bytes). */
export function randomId(bytes = 16): string {
  return randomBytes(bytes).toString("base64url");
}

/** Constant-time comparison of two strings of equal length (token checks). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
