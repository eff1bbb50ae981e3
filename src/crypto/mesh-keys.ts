// Mesh keys: 32 random bytes per key epoch, held by every member and never by the broker. Each
// fan-out target gets its own purpose key, BLAKE2b-256 keyed by the mesh key over a label, so one
// epoch's mesh key reads every broadcast, group and topic of that epoch. Removing a member means a
// new epoch with a new mesh key: the removed member reads nothing sent afterwards (but keeps what it
// could read before — there is no forward secrecy against a member).
import { sodium } from "./sodium.ts";
import { utf8 } from "./encoding.ts";
import { GROUP_RE, TOPIC_RE } from "./fields.ts";

export const MESH_KEY_BYTES = 32;
/** Epochs travel as 4-byte big-endian integers in fan-out ciphertexts. */
export const MAX_EPOCH = 0xffff_ffff;

export const isEpoch = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0 && (n as number) <= MAX_EPOCH;

/** A fresh random mesh key for a new epoch. */
export function newMeshKey(): Uint8Array {
  return sodium.randombytes_buf(MESH_KEY_BYTES);
}

/** The derivation label of a fan-out target. Throws TypeError for anything but `*`, `@group` or
 *  `#topic` with a valid name (names exclude `|`, so labels are injective). */
export function purposeLabel(target: string): string {
  if (target === "*") return "claudemesh-broadcast-v1";
  if (target.startsWith("@") && GROUP_RE.test(target.slice(1))) return `claudemesh-group-v1|${target.slice(1)}`;
  if (target.startsWith("#") && TOPIC_RE.test(target.slice(1))) return `claudemesh-topic-v1|${target.slice(1)}`;
  throw new TypeError(`not a fan-out target: ${JSON.stringify(target.slice(0, 80))}`);
}

/** The 32-byte symmetric key for `target` under `meshKey`: crypto_generichash(32, label, meshKey).
 *  Deterministic. Throws TypeError on a mesh key that is not 32 bytes or an invalid target. */
export function purposeKey(meshKey: Uint8Array, target: string): Uint8Array {
  if (meshKey.length !== MESH_KEY_BYTES) throw new TypeError("mesh key must be 32 bytes");
  return sodium.crypto_generichash(32, utf8(purposeLabel(target)), meshKey);
}
