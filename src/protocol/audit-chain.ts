// The audit chain (DESIGN.md §3): each entry's hash covers the previous hash, the mesh id, the
// event type, the actor, the canonical JSON of the payload and the time. The first entry links
// to "genesis". Broker, CLI and dashboard all verify with these two functions.
import { createHash } from "node:crypto";
import { canonicalJson } from "./canonical-json.ts";

export const GENESIS = "genesis";

export type ChainEntry = {
  seq: number;
  meshId: string;
  eventType: string;
  /** Member id of whoever caused the event; null for the broker itself. */
  actor: string | null;
  payload: unknown;
  /** ISO 8601 time, exactly as stored and hashed. */
  createdAt: string;
  prevHash: string;
  hash: string;
};

/** sha256 hex of `prev|meshId|eventType|actor|canonicalJson(payload)|createdAt` (actor null → "null"). */
export function auditHash(prevHash: string, meshId: string, eventType: string, actor: string | null, payload: unknown, createdAt: string): string {
  const line = `${prevHash}|${meshId}|${eventType}|${actor ?? "null"}|${canonicalJson(payload)}|${createdAt}`;
  return createHash("sha256").update(line).digest("hex");
}

export type ChainVerdict = { valid: boolean; entries: number; head: string; brokenAt: number | null; reason: string | null };

/** Where a walk starts: after the entry with this seq and hash (genesis: seq 0). */
export type ChainPoint = { seq: number; hash: string };
const START: ChainPoint = { seq: 0, hash: GENESIS };

/** Recomputes the chain in seq order and names the first entry that does not hold. `entries` may
 *  continue a prefix already verified (`from`, its last seq and hash): the counts are then of the
 *  whole chain so far. */
export function verifyChain(entries: readonly ChainEntry[], from: ChainPoint = START): ChainVerdict {
  let prev = from.hash;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const broken = (reason: string): ChainVerdict => ({ valid: false, entries: from.seq + entries.length, head: prev, brokenAt: e.seq, reason });
    if (e.seq !== from.seq + i + 1) return broken(`expected seq ${from.seq + i + 1}, found ${e.seq}`);
    if (e.prevHash !== prev) return broken("prev_hash does not match the previous entry's hash");
    let expected: string;
    try {
      expected = auditHash(e.prevHash, e.meshId, e.eventType, e.actor, e.payload, e.createdAt);
    } catch {
      return broken("payload cannot be canonicalised");
    }
    if (expected !== e.hash) return broken("hash does not match the entry's contents");
    prev = e.hash;
  }
  return { valid: true, entries: from.seq + entries.length, head: prev, brokenAt: null, reason: null };
}
