// Passphrase-encrypted config backups (DESIGN.md §3, reliability.md §1.6 item 5, T22).
//
// File (binary):
//   "CMBK" ‖ 0x01 ‖ header length (u16 BE) ‖ header ‖ nonce (24) ‖ XChaCha20-Poly1305 ciphertext
//   header = UTF-8 {"kdf":"argon2id","v":19,"m":<KiB>,"t":<passes>,"p":<lanes>,"salt":"<base64 of 16>"}
//   key    = Argon2id(passphrase, salt, m, t, p), 32 bytes
//   AD     = every byte before the nonce, so any change to the parameters or salt fails to open.
// Argon2id runs on node:crypto's native argon2 (async, off the main thread); it is byte-identical to
// libsodium's crypto_pwhash, so another client can reproduce the key (pinned by a test vector).
// The passphrase is NFC-normalised before hashing, so the same words typed on macOS and Linux give
// the same key (an addition to the brief: other implementations must normalise too).
import { argon2 } from "node:crypto";
import { aeadOpen, aeadSeal, AEAD_NONCE_BYTES, AEAD_TAG_BYTES } from "./aead.ts";
import { fromBase64, toBase64, utf8 } from "./encoding.ts";
import { sodium } from "./sodium.ts";

export type BackupCost = { m: number; t: number; p: number };
export type BackupErrorCode = "wrong_passphrase_or_tampered" | "unsupported" | "too_weak" | "too_costly" | "malformed" | "passphrase_too_short";

/** libsodium MODERATE (256 MiB, 3 passes): the default; ~1.4 s on a 2-core VPS. */
export const BACKUP_COST_MODERATE: BackupCost = Object.freeze({ m: 262_144, t: 3, p: 1 });
/** libsodium SENSITIVE (1 GiB, 4 passes), for those who want it. */
export const BACKUP_COST_SENSITIVE: BackupCost = Object.freeze({ m: 1_048_576, t: 4, p: 1 });
/** Floor (downgrade guard), on create and on open: 64 MiB and 2 passes. */
export const MIN_MEMORY_KIB = 65_536;
export const MIN_PASSES = 2;
/** Caps (DoS guard), checked on open before any hashing: 2 GiB, 10 passes, 4 lanes. */
export const MAX_MEMORY_KIB = 2_097_152;
export const MAX_PASSES = 10;
export const MAX_LANES = 4;
export const MIN_PASSPHRASE_CHARS = 12;
/** A config backup is small; this bounds what we allocate for a hostile file. */
export const MAX_BACKUP_PLAINTEXT_BYTES = 16 * 1024 * 1024;

const MAGIC = "CMBK";
const FORMAT_VERSION = 0x01;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
const ARGON2_VERSION = 19; // 0x13
/** Our header is ~90 bytes; a larger declared length is not a file we wrote. */
const MAX_HEADER_BYTES = 512;
const PREFIX_BYTES = MAGIC.length + 1 + 2;

/** Every backup failure. `code` says what the user can do; `message` is one clear sentence. */
export class BackupError extends Error {
  override readonly name = "BackupError";
  constructor(
    readonly code: BackupErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Throws too_weak / too_costly / malformed unless the cost is within floor and caps. */
function checkCost({ m, t, p }: BackupCost): void {
  if (![m, t, p].every((n) => Number.isSafeInteger(n) && n >= 1)) throw new BackupError("malformed", "Argon2 parameters must be positive integers.");
  if (m < MIN_MEMORY_KIB || t < MIN_PASSES) {
    throw new BackupError("too_weak", `Argon2 cost m=${m} KiB, t=${t} is below the floor (m ≥ ${MIN_MEMORY_KIB} KiB, t ≥ ${MIN_PASSES}); refusing a downgraded backup.`);
  }
  if (m > MAX_MEMORY_KIB || t > MAX_PASSES || p > MAX_LANES) {
    throw new BackupError("too_costly", `Argon2 cost m=${m} KiB, t=${t}, p=${p} exceeds the cap (m ≤ ${MAX_MEMORY_KIB} KiB, t ≤ ${MAX_PASSES}, p ≤ ${MAX_LANES}).`);
  }
}

/** The 32-byte Argon2id key for a passphrase (NFC-normalised), 16-byte salt and cost. Checks the
 *  cost first (throws BackupError without hashing). Exported for test vectors. */
export function deriveBackupKey(passphrase: string, salt: Uint8Array, cost: BackupCost): Promise<Uint8Array> {
  checkCost(cost);
  if (salt.length !== SALT_BYTES) throw new BackupError("malformed", "The salt must be 16 bytes.");
  const params = { message: utf8(passphrase.normalize("NFC")), nonce: salt, memory: cost.m, passes: cost.t, parallelism: cost.p, tagLength: KEY_BYTES };
  return new Promise((resolve, reject) => {
    argon2("argon2id", params, (err, key) => (err ? reject(new BackupError("unsupported", "Argon2id failed.", { cause: err })) : resolve(new Uint8Array(key))));
  });
}

const encodeHeader = (cost: BackupCost, salt: Uint8Array): Uint8Array =>
  utf8(JSON.stringify({ kdf: "argon2id", v: ARGON2_VERSION, m: cost.m, t: cost.t, p: cost.p, salt: toBase64(salt) }));

/**
 * Encrypts `plaintext` under `passphrase` (≥ 12 characters after NFC) with a new random salt and
 * nonce. `cost` defaults to MODERATE and must lie within the floor and caps. Rejects with a
 * BackupError: passphrase_too_short, too_weak, too_costly or malformed (plaintext over 16 MiB).
 */
export async function encryptBackup(plaintext: Uint8Array, passphrase: string, cost: BackupCost = BACKUP_COST_MODERATE): Promise<Uint8Array> {
  if ([...passphrase.normalize("NFC")].length < MIN_PASSPHRASE_CHARS) {
    throw new BackupError("passphrase_too_short", `The passphrase must have at least ${MIN_PASSPHRASE_CHARS} characters; several random words are best.`);
  }
  if (plaintext.length > MAX_BACKUP_PLAINTEXT_BYTES) throw new BackupError("malformed", "The data to back up exceeds 16 MiB.");
  checkCost(cost);
  const salt = sodium.randombytes_buf(SALT_BYTES);
  const header = encodeHeader(cost, salt);
  const ad = new Uint8Array(PREFIX_BYTES + header.length);
  ad.set(utf8(MAGIC));
  ad[4] = FORMAT_VERSION;
  new DataView(ad.buffer).setUint16(5, header.length, false);
  ad.set(header, PREFIX_BYTES);
  const key = await deriveBackupKey(passphrase, salt, cost);
  const { nonce, ciphertext } = aeadSeal(plaintext, ad, key);
  sodium.memzero(key);
  const file = new Uint8Array(ad.length + nonce.length + ciphertext.length);
  file.set(ad);
  file.set(nonce, ad.length);
  file.set(ciphertext, ad.length + nonce.length);
  return file;
}

/** Parses and vets the header without hashing: every refusal here costs microseconds. */
function parseFile(file: Uint8Array): { ad: Uint8Array; cost: BackupCost; salt: Uint8Array; nonce: Uint8Array; ciphertext: Uint8Array } {
  const malformed = (why: string) => new BackupError("malformed", `Not a readable claudemesh backup: ${why}.`);
  if (file.length < PREFIX_BYTES || new TextDecoder().decode(file.subarray(0, 4)) !== MAGIC) throw malformed("missing CMBK signature");
  if (file[4] !== FORMAT_VERSION) throw new BackupError("unsupported", `Backup format version ${file[4]} is not supported by this claudemesh; upgrade it.`);
  const headerLength = new DataView(file.buffer, file.byteOffset, file.byteLength).getUint16(5, false);
  const end = PREFIX_BYTES + headerLength;
  if (headerLength > MAX_HEADER_BYTES || file.length < end + AEAD_NONCE_BYTES + AEAD_TAG_BYTES) throw malformed("truncated or oversized header");
  if (file.length > end + AEAD_NONCE_BYTES + AEAD_TAG_BYTES + MAX_BACKUP_PLAINTEXT_BYTES) throw malformed("file too large");
  let h: Record<string, unknown>;
  try {
    h = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(file.subarray(PREFIX_BYTES, end)));
  } catch (cause) {
    throw new BackupError("malformed", "Not a readable claudemesh backup: the header is not JSON.", { cause });
  }
  if (typeof h !== "object" || h === null || Array.isArray(h)) throw malformed("the header is not an object");
  const keys = Object.keys(h).sort().join(",");
  if (keys !== "kdf,m,p,salt,t,v") throw malformed("unexpected header fields");
  if (h.kdf !== "argon2id" || h.v !== ARGON2_VERSION) throw new BackupError("unsupported", `Key derivation ${String(h.kdf)} v${String(h.v)} is not supported.`);
  const cost = { m: h.m, t: h.t, p: h.p } as BackupCost;
  checkCost(cost);
  if (typeof h.salt !== "string") throw malformed("the salt is not a string");
  let salt: Uint8Array;
  try {
    salt = fromBase64(h.salt as string);
  } catch {
    throw malformed("the salt is not base64");
  }
  if (salt.length !== SALT_BYTES) throw malformed("the salt is not 16 bytes");
  return { ad: file.subarray(0, end), cost, salt, nonce: file.subarray(end, end + AEAD_NONCE_BYTES), ciphertext: file.subarray(end + AEAD_NONCE_BYTES) };
}

/**
 * The plaintext of a backup file. Rejects with a BackupError: malformed, unsupported, too_weak or
 * too_costly (all decided from the header before Argon2 runs), or wrong_passphrase_or_tampered
 * (the two cannot be told apart; the user retries the passphrase or restores another copy).
 */
export async function decryptBackup(file: Uint8Array, passphrase: string): Promise<Uint8Array> {
  const { ad, cost, salt, nonce, ciphertext } = parseFile(file);
  const key = await deriveBackupKey(passphrase, salt, cost);
  const plain = aeadOpen(ciphertext, ad, nonce, key);
  sodium.memzero(key);
  if (!plain) throw new BackupError("wrong_passphrase_or_tampered", "Wrong passphrase, or the backup file was modified or truncated.");
  return plain;
}
