// Pins src/crypto/box.ts: direct-message crypto_box over converted ed25519 keys (DESIGN.md §3),
// reliability.md T20 (round trips, single bit flips, wrong keys, low-order keys) and T21 (nonces).
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { BoxCache, curvePublicKey, DIRECT_VERSION, openDirect, sealDirect, type Sealed } from "../../src/crypto/box.ts";
import { fromBase64, toBase64, toHex } from "../../src/crypto/encoding.ts";
import { generateSigningKeypair, signingKeypairFromSeed } from "../../src/crypto/sign.ts";
import { sodium } from "../../src/crypto/sodium.ts";

const alice = generateSigningKeypair();
const bob = generateSigningKeypair();
const carol = generateSigningKeypair();

/** Every single-bit flip of `bytes`, each as a fresh copy. */
function* bitFlips(bytes: Uint8Array): Generator<Uint8Array> {
  for (let i = 0; i < bytes.length * 8; i++) {
    const copy = bytes.slice();
    copy[i >> 3]! ^= 1 << (i & 7);
    yield copy;
  }
}

/** Ed25519 encodings of small-order points (libsodium's blocklist), and each with the sign bit set. */
const SMALL_ORDER_ED25519 = (() => {
  const y = [
    "0000000000000000000000000000000000000000000000000000000000000000", // 0, order 4
    "0100000000000000000000000000000000000000000000000000000000000000", // 1, order 1
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", // order 8
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p-1, order 2
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p = 0, order 4
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p+1 = 1, order 1
  ];
  const signed = y.map((h) => h.slice(0, 62) + (parseInt(h.slice(62), 16) ^ 0x80).toString(16).padStart(2, "0"));
  return [...y, ...signed];
})();

describe("sealDirect / openDirect", () => {
  test("round-trips any message of 0–64 KiB", () => {
    const cache = new BoxCache();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 * 1024 }), (msg) => {
        const sealed = sealDirect(msg, bob.publicKey, alice.secretKey, cache);
        expect(openDirect(sealed, alice.publicKey, bob.secretKey, cache)).toEqual(msg);
      }),
      { numRuns: 60 },
    );
    for (const n of [0, 1, 65_536]) {
      const msg = sodium.randombytes_buf(n);
      expect(openDirect(sealDirect(msg, bob.publicKey, alice.secretKey), alice.publicKey, bob.secretKey)).toEqual(msg);
    }
  });

  test("wire format: base64 24-byte nonce, base64 of 0x01 ‖ crypto_box_easy", () => {
    const msg = new TextEncoder().encode("hello bob");
    const sealed = sealDirect(msg, bob.publicKey, alice.secretKey);
    const nonce = fromBase64(sealed.nonce);
    const ct = fromBase64(sealed.ciphertext);
    expect([nonce.length, ct[0], ct.length]).toEqual([24, DIRECT_VERSION, 1 + 16 + msg.length]);
    // An independent opener: plain crypto_box_open_easy on converted keys, no cache.
    const pk = sodium.crypto_sign_ed25519_pk_to_curve25519(sodium.from_hex(alice.publicKey));
    const sk = sodium.crypto_sign_ed25519_sk_to_curve25519(sodium.from_hex(bob.secretKey));
    expect(sodium.crypto_box_open_easy(ct.subarray(1), nonce, pk, sk)).toEqual(msg);
  });

  test("every single bit flip of nonce, version byte, ciphertext or tag fails", () => {
    const cache = new BoxCache();
    const sealed = sealDirect(new TextEncoder().encode("ship it at 5pm"), bob.publicKey, alice.secretKey, cache);
    let tried = 0;
    for (const n of bitFlips(fromBase64(sealed.nonce))) {
      expect(openDirect({ ...sealed, nonce: toBase64(n) }, alice.publicKey, bob.secretKey, cache)).toBeNull();
      tried++;
    }
    for (const c of bitFlips(fromBase64(sealed.ciphertext))) {
      expect(openDirect({ ...sealed, ciphertext: toBase64(c) }, alice.publicKey, bob.secretKey, cache)).toBeNull();
      tried++;
    }
    expect(tried).toBe(24 * 8 + (1 + 16 + 14) * 8);
  });

  test("wrong recipient, wrong claimed sender, and garbage all give null, never throw", () => {
    const sealed = sealDirect(new Uint8Array([1, 2, 3]), bob.publicKey, alice.secretKey);
    expect(openDirect(sealed, alice.publicKey, carol.secretKey)).toBeNull();
    expect(openDirect(sealed, carol.publicKey, bob.secretKey)).toBeNull();
    const bad: Sealed[] = [
      { nonce: "", ciphertext: sealed.ciphertext },
      { nonce: sealed.nonce, ciphertext: "" },
      { nonce: sealed.nonce, ciphertext: "not base64!" },
      { nonce: `${sealed.nonce}=`, ciphertext: sealed.ciphertext },
      { nonce: sealed.nonce, ciphertext: toBase64(new Uint8Array(16)) },
      { nonce: sealed.nonce, ciphertext: "A".repeat(2_000_000) },
    ];
    for (const s of bad) expect(openDirect(s, alice.publicKey, bob.secretKey)).toBeNull();
    expect(openDirect(sealed, "zz", bob.secretKey)).toBeNull();
    expect(openDirect(sealed, alice.publicKey, "00")).toBeNull();
  });

  test("10,000 seals use 10,000 distinct nonces", () => {
    const cache = new BoxCache();
    const nonces = new Set<string>();
    for (let i = 0; i < 10_000; i++) nonces.add(sealDirect(new Uint8Array(0), bob.publicKey, alice.secretKey, cache).nonce);
    expect(nonces.size).toBe(10_000);
  });
});

describe("low-order and invalid public keys", () => {
  test.each(SMALL_ORDER_ED25519)("%s is refused for encryption and decryption", (pk) => {
    expect(curvePublicKey(pk)).toBeNull();
    expect(() => sealDirect(new Uint8Array(1), pk, alice.secretKey)).toThrow(TypeError);
    const sealed = sealDirect(new Uint8Array(1), bob.publicKey, alice.secretKey);
    expect(openDirect(sealed, pk, bob.secretKey)).toBeNull();
  });

  test("libsodium refuses an all-zero X25519 shared secret (what our beforenm check relies on)", () => {
    const sk = sodium.crypto_sign_ed25519_sk_to_curve25519(sodium.from_hex(alice.secretKey));
    const smallOrderU = ["00", "01", "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157", "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"];
    for (const u of smallOrderU) expect(() => sodium.crypto_box_beforenm(sodium.from_hex(u.padEnd(64, "0")), sk)).toThrow();
  });

  test("malformed hex is refused", () => {
    for (const pk of ["", "00", "A".repeat(64), `${bob.publicKey}00`]) expect(curvePublicKey(pk)).toBeNull();
    expect(() => sealDirect(new Uint8Array(1), bob.publicKey, "ab")).toThrow(TypeError);
  });

  test("a real key converts to a point whose secret matches (libsodium known answer)", () => {
    const kp = signingKeypairFromSeed(new Uint8Array(32).fill(7));
    const sk = sodium.crypto_sign_ed25519_sk_to_curve25519(sodium.from_hex(kp.secretKey));
    expect(toHex(curvePublicKey(kp.publicKey)!)).toBe(toHex(sodium.crypto_scalarmult_base(sk)));
  });
});

describe("BoxCache", () => {
  test("2,000 seals to one peer run crypto_box_beforenm once", () => {
    const cache = new BoxCache();
    for (let i = 0; i < 2000; i++) sealDirect(new Uint8Array(32), bob.publicKey, alice.secretKey, cache);
    expect(cache.stats).toEqual({ hits: 1999, misses: 1 });
    expect(cache.size).toBe(1);
  });

  test("the shared key is symmetric: one cache serves both directions of a pair", () => {
    const cache = new BoxCache();
    expect(cache.sharedKey(bob.publicKey, alice.secretKey)).toEqual(cache.sharedKey(alice.publicKey, bob.secretKey)!);
  });

  test("evicts the least recently used pair past its bound, and invalid keys are not cached", () => {
    const cache = new BoxCache(2);
    cache.sharedKey(bob.publicKey, alice.secretKey);
    cache.sharedKey(carol.publicKey, alice.secretKey);
    cache.sharedKey(bob.publicKey, alice.secretKey); // bob is now the most recent
    cache.sharedKey(alice.publicKey, carol.secretKey); // evicts carol-from-alice
    expect(cache.size).toBe(2);
    const before = cache.stats.misses;
    cache.sharedKey(bob.publicKey, alice.secretKey);
    expect(cache.stats.misses).toBe(before);
    cache.sharedKey(carol.publicKey, alice.secretKey);
    expect(cache.stats.misses).toBe(before + 1);
    expect(cache.sharedKey(SMALL_ORDER_ED25519[0]!, alice.secretKey)).toBeNull();
    expect(cache.size).toBe(2);
    cache.clear();
    expect(cache.size).toBe(0);
    expect(() => new BoxCache(0)).toThrow(RangeError);
  });
});
