// Grants: which capabilities a recipient member gives a sender key. No row means the mesh
// default applies (decided by the broker); an empty list means blocked.
import type { Database } from "bun:sqlite";
import type { Cap } from "../../protocol/fields.ts";
import type { Grant } from "../types.ts";
import type { AuditRepo } from "./audit-repo.ts";
import { capsFromJson } from "./rows.ts";
import { writeTx } from "./transaction.ts";

type GrantRow = { recipient_member_id: string; sender_pubkey: string; caps: string };

const grantFromRow = (r: GrantRow): Grant => ({ recipientMemberId: r.recipient_member_id, senderPubkey: r.sender_pubkey, caps: capsFromJson(r.caps) });

const sameCaps = (a: readonly Cap[], b: readonly Cap[]) => a.length === b.length && a.every((c) => b.includes(c));

export class GrantRepo {
  constructor(
    private readonly db: Database,
    private readonly audit: AuditRepo,
  ) {}

  /** Sets (or with `caps` null, deletes) the grant, with `grant_changed`, in one transaction.
   *  A change that changes nothing (the same caps again, deleting a missing entry) writes nothing,
   *  audit entry included. */
  set(meshId: string, recipientMemberId: string, senderPubkey: string, caps: Cap[] | null, actor: string): void {
    writeTx(this.db, () => {
      const before = this.db
        .query<{ caps: string }, [string, string]>("SELECT caps FROM grants WHERE recipient_member_id = ? AND sender_pubkey = ?")
        .get(recipientMemberId, senderPubkey);
      if (caps === null ? before === null : before !== null && sameCaps(capsFromJson(before.caps), caps)) return;
      if (caps === null) {
        this.db.query("DELETE FROM grants WHERE recipient_member_id = ? AND sender_pubkey = ?").run(recipientMemberId, senderPubkey);
      } else {
        this.db
          .query(
            `INSERT INTO grants (mesh_id, recipient_member_id, sender_pubkey, caps, updated_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (recipient_member_id, sender_pubkey) DO UPDATE SET caps = excluded.caps, updated_at = excluded.updated_at`,
          )
          .run(meshId, recipientMemberId, senderPubkey, JSON.stringify(caps), Date.now());
      }
      const payload = { recipient: recipientMemberId, sender: senderPubkey, caps };
      this.audit.appendIn({ meshId, eventType: "grant_changed", actor, payload });
    });
  }

  /** Every grant the member has given, by sender key. */
  of(recipientMemberId: string): Grant[] {
    return this.db
      .query<GrantRow, [string]>("SELECT recipient_member_id, sender_pubkey, caps FROM grants WHERE recipient_member_id = ? ORDER BY sender_pubkey")
      .all(recipientMemberId)
      .map(grantFromRow);
  }

  /** Every grant row of a mesh (the broker caches them per mesh for routing). */
  ofMesh(meshId: string): Grant[] {
    return this.db
      .query<GrantRow, [string]>("SELECT recipient_member_id, sender_pubkey, caps FROM grants WHERE mesh_id = ?")
      .all(meshId)
      .map(grantFromRow);
  }
}
