// Whether the owner owes the mesh a key rotation: members removed, or gone by `leave`, since the
// last `key_rotated` in the audit chain. An owner's kick rotates at once; an admin's cannot
// (members take keys from the owner only), and a leave never does, so until the owner runs
// `claudemesh rekey` the gone member's keys still open whatever fan-out ciphertext it gets hold
// of. A reminder read from the broker's log, not a guarantee: a broker that hides a removal hides
// it here too.
import type { BrokerClient } from "../client/client.ts";
import type { ChainEntry } from "../protocol/audit-chain.ts";
import { allAuditEntries } from "../client/audit-log.ts";
import { peerLabel } from "../client/resolve.ts";

/** Members gone since the last rotation: removed by someone, or left on their own. A member who
 *  left still holds the mesh keys it had (its files, or a backup of them, open any fan-out
 *  ciphertext it gets hold of), exactly as a removed one does. */
function goneSinceRotation(entries: readonly ChainEntry[]): Map<string, "removed" | "left"> {
  let gone = new Map<string, "removed" | "left">();
  for (const e of entries) {
    if (e.eventType === "key_rotated") gone = new Map();
    else if (e.eventType === "member_revoked" || e.eventType === "member_left") {
      const memberId = (e.payload as { memberId?: unknown } | null)?.memberId;
      if (typeof memberId === "string") gone.set(memberId, e.eventType === "member_left" ? "left" : "removed");
    }
  }
  return gone;
}

/** The members gone since the last rotation, named as peerLabel names a peer (quoted name and key
 *  prefix: a name is its owner's choice and need not be unique, so "root" alone could be the
 *  owner), their member ids when not listed; " (left)" after those who left on their own. */
export async function rekeyDue(client: BrokerClient): Promise<string[]> {
  const gone = goneSinceRotation(await allAuditEntries(client));
  if (gone.size === 0) return [];
  const { members } = await client.request("member_list", {});
  return [...gone].map(([id, how]) => {
    const m = members.find((x) => x.memberId === id);
    return `${m ? peerLabel(m) : id}${how === "left" ? " (left)" : ""}`;
  });
}
