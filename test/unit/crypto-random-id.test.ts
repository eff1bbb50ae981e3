// Pins randomId, which draws from a pooled CSPRNG buffer: every id is well-formed and distinct,
// across pool refills and for sizes larger than the pool.
import { expect, test } from "bun:test";
import { randomId } from "../../src/crypto/hash.ts";

test("ids are URL-safe, of the asked entropy, and never repeat across pool refills", () => {
  const ids = Array.from({ length: 20_000 }, () => randomId());
  expect(ids.every((id) => /^[A-Za-z0-9_-]{22}$/.test(id))).toBe(true);
  expect(new Set(ids).size).toBe(ids.length);
  // Odd sizes interleaved with the default one walk the pool boundary at every offset.
  const mixed = Array.from({ length: 5_000 }, (_, i) => randomId(1 + (i % 33)));
  expect(mixed.every((id, i) => Buffer.from(id, "base64url").length === 1 + (i % 33))).toBe(true);
  expect(Buffer.from(randomId(10_000), "base64url").length).toBe(10_000);
});

test("no id starts with '-', so any id can be passed to the CLI as an argument", () => {
  // Without the rule one id in 64 would: 20,000 ids without one cannot happen by chance.
  expect(Array.from({ length: 20_000 }, () => randomId()).filter((id) => id.startsWith("-"))).toEqual([]);
});
