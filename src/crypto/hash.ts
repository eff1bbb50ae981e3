// Hashes and random identifiers.
import { createHash, randomFillSync, timingSafeEqual } from "node:crypto";

export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** CSPRNG bytes fetched 4 KiB at a time: one call to the system per 256 ids instead of one per
 *  id (the broker makes one per message). Each byte is handed out once. */
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

/** A random URL-safe identifier with `bytes` bytes of entropy (22 characters for 16 bytes). It
 *  never starts with "-", so that it can be passed to the CLI as an argument (`invite revoke ID`)
 *  without being read as an option: one in 64 would be; those are drawn again. */
export function randomId(bytes = 16): string {
  for (;;) {
    const id = draw(bytes);
    if (!id.startsWith("-")) return id;
  }
}

function draw(bytes: number): string {
  if (bytes > pool.length) return randomFillSync(Buffer.alloc(bytes)).toString("base64url");
  if (poolOffset + bytes > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const id = pool.toString("base64url", poolOffset, poolOffset + bytes);
  pool.fill(0, poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return id;
}

/** Constant-time comparison of two strings of equal length (token checks). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
