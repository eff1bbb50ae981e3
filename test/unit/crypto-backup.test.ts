// Pins src/crypto/backup.ts: the CMBK file format, the Argon2id vector, and reliability.md T22
// (header authenticated as AD; floor and cap refused before Argon2 runs; wrong passphrase).
// MODERATE (256 MiB) runs in three tests only; the rest use the floor cost (64 MiB, 2 passes),
// which encryptBackup accepts like any cost within the bounds.
import { beforeAll, describe, expect, test } from "bun:test";
import sumo from "libsodium-wrappers-sumo";
import { toBase64, toHex, utf8 } from "../../src/crypto/encoding.ts";
import {
  BACKUP_COST_MODERATE, BackupError, decryptBackup, deriveBackupKey, encryptBackup, type BackupCost, type BackupErrorCode,
} from "../../src/crypto/backup.ts";

const PASS = "correct horse battery staple";
const FLOOR: BackupCost = { m: 65_536, t: 2, p: 1 };
const VECTOR_SALT = new Uint8Array(16).map((_, i) => i);
/** Argon2id(PASS, salt 00…0f, m=262144 KiB, t=3, p=1, 32 bytes). */
const VECTOR_KEY = "aad608b5866cef907f47d5cae529ed01a91301c92c5d5fef46e1a65e394e5742";
/** Argon2 at 256 MiB takes ~1.5 s on a 2-core box; allow for a loaded CI machine. */
const ARGON2_TIMEOUT_MS = 30_000;
const CONFIG = utf8(JSON.stringify({ meshes: [{ id: "mesh_T3stVect0r", secretKey: "00".repeat(64) }] }));

/** The error code a promise rejects with, or "ok". */
async function outcome(p: Promise<unknown>): Promise<BackupErrorCode | "ok"> {
  try {
    await p;
    return "ok";
  } catch (e) {
    if (!(e instanceof BackupError)) throw e;
    return e.code;
  }
}

/** A file with an arbitrary header, a valid-looking nonce and a dummy ciphertext. */
function craft(header: unknown, version = 1): Uint8Array {
  const h = utf8(typeof header === "string" ? header : JSON.stringify(header));
  const file = new Uint8Array(7 + h.length + 24 + 48);
  file.set(utf8("CMBK"));
  file[4] = version;
  new DataView(file.buffer).setUint16(5, h.length, false);
  file.set(h, 7);
  return file;
}
const header = (o: Record<string, unknown> = {}) => ({ kdf: "argon2id", v: 19, ...FLOOR, salt: toBase64(VECTOR_SALT), ...o });

describe("Argon2id", () => {
  test("pinned vector at MODERATE (node:crypto native argon2)", async () => {
    expect(toHex(await deriveBackupKey(PASS, VECTOR_SALT, BACKUP_COST_MODERATE))).toBe(VECTOR_KEY);
  }, ARGON2_TIMEOUT_MS);

  test("libsodium's crypto_pwhash (sumo, WASM) reproduces the vector", async () => {
    await sumo.ready;
    const key = sumo.crypto_pwhash(32, PASS, VECTOR_SALT, 3, 262_144 * 1024, sumo.crypto_pwhash_ALG_ARGON2ID13);
    expect(toHex(key)).toBe(VECTOR_KEY);
  }, ARGON2_TIMEOUT_MS);
});

describe("round trip", () => {
  test("MODERATE by default; the header records the parameters and a fresh salt", async () => {
    const file = await encryptBackup(CONFIG, PASS);
    const len = new DataView(file.buffer).getUint16(5, false);
    const h = JSON.parse(new TextDecoder().decode(file.subarray(7, 7 + len)));
    expect(new TextDecoder().decode(file.subarray(0, 4))).toBe("CMBK");
    expect([file[4], Object.keys(h), h.kdf, h.v, h.m, h.t, h.p]).toEqual([1, ["kdf", "v", "m", "t", "p", "salt"], "argon2id", 19, 262_144, 3, 1]);
    expect(file.length).toBe(7 + len + 24 + CONFIG.length + 16);
    expect(await decryptBackup(file, PASS)).toEqual(CONFIG);
  }, ARGON2_TIMEOUT_MS);

  test("an NFC-normalised passphrase opens what its decomposed form sealed", async () => {
    const file = await encryptBackup(CONFIG, "cre\u0300me brûlée, s'il vous plaît", FLOOR);
    expect(await decryptBackup(file, "crème brûlée, s'il vous plaît")).toEqual(CONFIG);
  }, ARGON2_TIMEOUT_MS);
});

describe("opening a floor-cost backup", () => {
  let file: Uint8Array;
  let headerEnd: number;
  beforeAll(async () => {
    file = await encryptBackup(CONFIG, PASS, FLOOR);
    headerEnd = 7 + new DataView(file.buffer).getUint16(5, false);
  }, ARGON2_TIMEOUT_MS);

  test("a wrong passphrase is refused", async () => {
    expect(await outcome(decryptBackup(file, "correct horse battery stapler"))).toBe("wrong_passphrase_or_tampered");
  }, ARGON2_TIMEOUT_MS);

  test("flipping a bit in any header byte (magic, version, length, JSON) is refused", async () => {
    // Flips that leave valid parameters (a digit of m, a salt character) run Argon2 and fail on the
    // AD; the others fail on parsing. Either way no flip may open.
    const codes = await Promise.all(Array.from({ length: headerEnd }, (_, i) => {
      const copy = file.slice();
      copy[i]! ^= 0x01;
      return outcome(decryptBackup(copy, PASS));
    }));
    expect(codes.length).toBe(headerEnd);
    expect(codes.filter((c) => c === "ok")).toEqual([]);
    expect(codes).toContain("wrong_passphrase_or_tampered");
  }, ARGON2_TIMEOUT_MS);

  test("flipping a nonce, ciphertext or tag bit is refused", async () => {
    const at = [headerEnd, headerEnd + 23, headerEnd + 24, file.length - 17, file.length - 1];
    const codes = await Promise.all(at.map((i) => {
      const copy = file.slice();
      copy[i]! ^= 0x10;
      return outcome(decryptBackup(copy, PASS));
    }));
    expect(codes).toEqual(at.map(() => "wrong_passphrase_or_tampered"));
  }, ARGON2_TIMEOUT_MS);

  test("a truncated file is refused", async () => {
    const cuts = [0, 3, 6, 20, headerEnd, headerEnd + 24 + 15, file.length - 1];
    const codes = await Promise.all(cuts.map((n) => outcome(decryptBackup(file.subarray(0, n), PASS))));
    expect(codes).toEqual(["malformed", "malformed", "malformed", "malformed", "malformed", "malformed", "wrong_passphrase_or_tampered"]);
  }, ARGON2_TIMEOUT_MS);
});

describe("refused from the header alone, before Argon2 runs (< 100 ms)", () => {
  test.each<[string, Uint8Array, BackupErrorCode]>([
    ["m below 64 MiB", craft(header({ m: 65_535 })), "too_weak"],
    ["t below 2", craft(header({ t: 1 })), "too_weak"],
    ["m above 2 GiB", craft(header({ m: 2_097_153 })), "too_costly"],
    ["t above 10", craft(header({ t: 11 })), "too_costly"],
    ["p above 4", craft(header({ p: 5 })), "too_costly"],
    ["all at the cap plus one", craft(header({ m: 2_097_153, t: 11, p: 5 })), "too_costly"],
    ["another KDF", craft(header({ kdf: "scrypt" })), "unsupported"],
    ["another Argon2 version", craft(header({ v: 16 })), "unsupported"],
    ["format version 2", craft(header(), 2), "unsupported"],
    ["no magic", craft(header()).map((b, i) => (i === 0 ? 0 : b)), "malformed"],
    ["a string cost", craft(header({ m: "262144" })), "malformed"],
    ["a fractional cost", craft(header({ t: 2.5 })), "malformed"],
    ["an extra field", craft(header({ x: 1 })), "malformed"],
    ["a missing field", craft({ kdf: "argon2id", v: 19, m: 65_536, t: 2, salt: toBase64(VECTOR_SALT) }), "malformed"],
    ["a short salt", craft(header({ salt: toBase64(new Uint8Array(8)) })), "malformed"],
    ["a non-base64 salt", craft(header({ salt: "!!!!" })), "malformed"],
    ["a header that is not JSON", craft("{kdf:argon2id}"), "malformed"],
    ["a header length past the end", craft(header()).map((b, i) => (i === 5 ? 0xff : b)), "malformed"],
  ])("%s", async (_, file, code) => {
    const start = performance.now();
    expect(await outcome(decryptBackup(file, PASS))).toBe(code);
    expect(performance.now() - start).toBeLessThan(100);
  });
});

describe("creating", () => {
  test.each<[string, string, BackupCost, BackupErrorCode]>([
    ["a passphrase under 12 characters", "eleven char", FLOOR, "passphrase_too_short"],
    ["a cost below the floor", PASS, { m: 32_768, t: 3, p: 1 }, "too_weak"],
    ["a cost above the cap", PASS, { m: 262_144, t: 11, p: 1 }, "too_costly"],
  ])("refuses %s without hashing", async (_, pass, cost, code) => {
    const start = performance.now();
    expect(await outcome(encryptBackup(CONFIG, pass, cost))).toBe(code);
    expect(performance.now() - start).toBeLessThan(100);
  });

  test("errors carry a code, a message and the BackupError name", async () => {
    const err = await encryptBackup(CONFIG, "short").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackupError);
    expect(err).toMatchObject({ name: "BackupError", code: "passphrase_too_short" });
    expect((err as Error).message).toContain("12 characters");
  });
});
