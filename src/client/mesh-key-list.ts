// The shape every list of mesh keys handed to a member must have, whoever hands it: the owner's
// `keys` message, or the keys an invite seals for its joiner.
import { fromBase64 } from "../crypto/encoding.ts";
import { MAX_KEY_EPOCH } from "../protocol/limits.ts";
import type { MeshKey } from "./local/config-file.ts";

/** `value` as a list of mesh keys, or null unless every entry has an epoch in 0…MAX_KEY_EPOCH, no
 *  epoch twice, and a key of 32 bytes in base64. A key held for an epoch is never replaced
 *  (mergeMeshKeys), so a malformed one taken in would shut out the good one for good. */
export function meshKeyList(value: unknown): MeshKey[] | null {
  if (!Array.isArray(value)) return null;
  const epochs = new Set<number>();
  for (const k of value as { epoch?: unknown; key?: unknown }[]) {
    const epoch = k?.epoch;
    if (typeof epoch !== "number" || !Number.isInteger(epoch) || epoch < 0 || epoch > MAX_KEY_EPOCH || epochs.has(epoch)) return null;
    if (typeof k.key !== "string" || fromBase64Safe(k.key)?.length !== 32) return null;
    epochs.add(epoch);
  }
  return (value as MeshKey[]).map((k) => ({ epoch: k.epoch, key: k.key }));
}

function fromBase64Safe(b64: string): Uint8Array | null {
  try {
    return fromBase64(b64);
  } catch {
    return null;
  }
}
