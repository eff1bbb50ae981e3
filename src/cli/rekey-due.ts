// Whether the owner owes the mesh a key rotation: members removed since the last `key_rotated` in
// the audit chain. An owner's kick rotates at once; an admin's cannot (members take keys from the
// owner only), so until the owner runs `claudemesh rekey` the removed member's keys still open
// whatever fan-out ciphertext it gets hold of. A reminder read from the broker's log, not a
// guarantee: a broker that hides a removal hides it here too.
import type { BrokerClient } from "../client/client.ts";
import type { ChainEntry } from "../protocol/audit-chain.ts";
import { allAuditEntries } from "../client/audit-log.ts";

/** Member ids removed by someone (not left on their own) after the last key rotation. */
function removedSinceRotation(entries: readonly ChainEntry[]): string[] {
  let removed: string[] = [];
  for (const e of entries) {
    if (e.eventType === "key_rotated") removed = [];
    else if (e.eventType === "member_revoked") {
      const memberId = (e.payload as { memberId?: unknown } | null)?.memberId;
      if (typeof memberId === "string") removed.push(memberId);
    }
  }
  return [...new Set(removed)];
}

/** Display names of the members removed since the last rotation (their ids when not listed). */
export async function rekeyDue(client: BrokerClient): Promise<string[]> {
  const ids = removedSinceRotation(await allAuditEntries(client));
  if (ids.length === 0) return [];
  const { members } = await client.request("member_list", {});
  return ids.map((id) => members.find((m) => m.memberId === id)?.displayName ?? id);
}
