// Pins src/crypto/invite-secret.ts: what an invite link's secret derives (DESIGN.md §4 item 2) and
// the sealed keys blob. Derivation vectors were checked with independent implementations (Python's
// hashlib.blake2b, node:crypto's native Ed25519).
import { describe, expect, test } from "bun:test";
import { createPrivateKey, createPublicKey } from "node:crypto";
import { fromBase64, toBase64, toHex } from "../../src/crypto/encoding.ts";
import {
  decodeInviteSecret, encodeInviteSecret, inviteBlobKey, inviteSigningKeypair, MAX_KEYS_BLOB_B64_LEN, newInviteSecret, openKeysBlob, sealKeysBlob,
} from "../../src/crypto/invite-secret.ts";

const S = new Uint8Array(32).map((_, i) => i);
const INVITE = "inv_0123456789";
const KEYS_JSON = JSON.stringify({ meshKeys: { "5": "c90f0892d2c2c6b07b483bf55891f0dcbc900d94bb27e804628948cf64a329c8" } });

describe("derivation", () => {
  test("the keys-blob key and the signing seed are BLAKE2b-256 keyed by the secret", () => {
    expect(toHex(inviteBlobKey(S))).toBe("9afc453397c1234d44444959bf5df0e3bbff1014a81e2588ac6d03153d42ef88");
    // seed = BLAKE2b-256(key = S, "claudemesh-invite-sign-v1") = 5bbdc83f…; public key from native Ed25519:
    const seed = Buffer.from("5bbdc83fa5e57d9b3b247aec5f1eb00432cccea73bc76aa8ee9fdda77aabedbe", "hex");
    const der = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]);
    const spki = createPublicKey(createPrivateKey({ key: der, format: "der", type: "pkcs8" })).export({ format: "der", type: "spki" });
    const kp = inviteSigningKeypair(S);
    expect(kp.publicKey).toBe(toHex(spki.subarray(-32)));
    expect(kp.publicKey).toBe("e51ee1c0c6579a3bc4706e9ea15f691fead82cc72e524447136e8d51582c6ff3");
    expect(kp.secretKey.slice(0, 64)).toBe(seed.toString("hex"));
  });

  test("different secrets give different keys; a secret of the wrong length is refused", () => {
    const other = newInviteSecret();
    expect(inviteSigningKeypair(other).publicKey).not.toBe(inviteSigningKeypair(S).publicKey);
    expect(() => inviteBlobKey(new Uint8Array(31))).toThrow(TypeError);
    expect(() => inviteSigningKeypair(new Uint8Array(33))).toThrow(TypeError);
  });

  test("the link form is 43 base64url characters and decodes strictly", () => {
    const text = encodeInviteSecret(S);
    expect(text).toBe("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8");
    expect(decodeInviteSecret(text)).toEqual(S);
    for (const bad of ["", text.slice(1), `${text}=`, `${text.slice(0, -1)}+`, `${text.slice(0, -1)}9`]) expect(decodeInviteSecret(bad)).toBeNull();
  });
});

describe("keys blob", () => {
  test("round-trips, with a fresh nonce each time", () => {
    const a = sealKeysBlob(KEYS_JSON, S, INVITE);
    const b = sealKeysBlob(KEYS_JSON, S, INVITE);
    expect(a).not.toBe(b);
    expect([openKeysBlob(a, S, INVITE), openKeysBlob(b, S, INVITE)]).toEqual([KEYS_JSON, KEYS_JSON]);
    expect(fromBase64(a).length).toBe(24 + KEYS_JSON.length + 16);
  });

  test("every single bit flip fails", () => {
    const bytes = fromBase64(sealKeysBlob(KEYS_JSON, S, INVITE));
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const copy = bytes.slice();
      copy[bit >> 3]! ^= 1 << (bit & 7);
      expect(openKeysBlob(toBase64(copy), S, INVITE)).toBeNull();
    }
  });

  test("another secret, another invite id, truncation or garbage fail with null", () => {
    const blob = sealKeysBlob(KEYS_JSON, S, INVITE);
    expect(openKeysBlob(blob, newInviteSecret(), INVITE)).toBeNull();
    expect(openKeysBlob(blob, S, "inv_9876543210")).toBeNull();
    expect(openKeysBlob(blob, S, "bad|id")).toBeNull();
    expect(openKeysBlob(blob.slice(0, 40), S, INVITE)).toBeNull();
    expect(openKeysBlob("", S, INVITE)).toBeNull();
    expect(openKeysBlob("!!!!", S, INVITE)).toBeNull();
    expect(openKeysBlob("A".repeat(MAX_KEYS_BLOB_B64_LEN + 4), S, INVITE)).toBeNull();
    expect(openKeysBlob(blob, new Uint8Array(3), INVITE)).toBeNull();
  });

  test("the sealed blob fits the protocol's 16 KiB bound, or sealing refuses", () => {
    expect(sealKeysBlob("x".repeat(12_000), S, INVITE).length).toBeLessThanOrEqual(MAX_KEYS_BLOB_B64_LEN);
    expect(() => sealKeysBlob("x".repeat(12_300), S, INVITE)).toThrow(RangeError);
    expect(() => sealKeysBlob(KEYS_JSON, S, "bad|id")).toThrow(TypeError);
  });
});
