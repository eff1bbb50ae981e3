// Invites: issue, revoke, and claim. A claim consumes one use with a single conditional UPDATE,
// so `max_uses` holds however many claims race, on one connection or several.
import type { Database } from "bun:sqlite";
import { MeshError } from "../../protocol/errors.ts";
import { MAX_OPEN_INVITES_PER_MEMBER } from "../../protocol/limits.ts";
import type { Invite, Member } from "../types.ts";
import type { AuditRepo } from "./audit-repo.ts";
import { GENERAL_TOPIC } from "./mesh-repo.ts";
import { inviteFromRow, memberFromRow, type InviteRow, type MemberRow } from "./rows.ts";
import { writeTx } from "./transaction.ts";

/** The refusal of an invite past MAX_OPEN_INVITES_PER_MEMBER: what frees a place, and the way to
 *  invite many without it. */
export const OPEN_INVITES_REFUSAL =
  `You have ${MAX_OPEN_INVITES_PER_MEMBER} open invites in this mesh, the most one member may have: revoke one you no longer need first ` +
  "(claudemesh invite list, then claudemesh invite revoke ID), or wait until one is used up or expires. One invite can admit many people (claudemesh invite --max-uses N).";

export type NewInvite = Omit<Invite, "usedCount" | "revokedAt">;
export type Claim = { inviteId: string; nowMs: number; member: { id: string; pubkey: string; displayName: string }; claim: { timestamp: number; inviteSignature: string } };
/** `repeated`: the key had already been enrolled through this invite (a claim whose answer was
 *  lost, sent again): nothing was written. */
export type Claimed = { member: Member; invite: Invite; keysBlob: string | null; repeated: boolean };

export class InviteRepo {
  constructor(
    private readonly db: Database,
    private readonly audit: AuditRepo,
  ) {}

  /** Stores the invite and `invite_created`. A reused id → MeshError conflict. An issuer with
   *  MAX_OPEN_INVITES_PER_MEMBER open invites of the mesh at `inv.createdAt` (not revoked, not used
   *  up, not expired) → MeshError invalid_argument, nothing written. Counted inside the write, so
   *  creations that arrive together are counted one after the other. */
  create(inv: NewInvite, actor: string): Invite {
    return writeTx(this.db, () => {
      if (this.db.query("SELECT 1 FROM invites WHERE id = ?").get(inv.id)) throw new MeshError("conflict", "invite id already exists");
      if (this.openOf(inv.meshId, inv.issuerMemberId, inv.createdAt) >= MAX_OPEN_INVITES_PER_MEMBER) throw new MeshError("invalid_argument", OPEN_INVITES_REFUSAL);
      const row = this.db
        .query<InviteRow, Record<string, string | number | null>>(
          `INSERT INTO invites (id, mesh_id, role, max_uses, expires_at, issuer_member_id, issuer_pubkey, invite_pubkey, signature, key_signature, keys_blob, created_at)
           VALUES ($id, $meshId, $role, $maxUses, $expiresAt, $issuerMemberId, $issuerPubkey, $invitePubkey, $signature, $keySignature, $keysBlob, $createdAt)
           RETURNING *`,
        )
        .get({
          id: inv.id,
          meshId: inv.meshId,
          role: inv.role,
          maxUses: inv.maxUses,
          expiresAt: inv.expiresAt,
          issuerMemberId: inv.issuerMemberId,
          issuerPubkey: inv.issuerPubkey,
          invitePubkey: inv.invitePubkey,
          signature: inv.signature,
          keySignature: inv.keySignature,
          keysBlob: inv.keysBlob,
          createdAt: inv.createdAt,
        })!;
      const payload = { inviteId: inv.id, role: inv.role, maxUses: inv.maxUses, expiresAt: inv.expiresAt };
      this.audit.appendIn({ meshId: inv.meshId, eventType: "invite_created", actor, payload });
      return inviteFromRow(row);
    });
  }

  /** How many of the issuer's invites of the mesh are open at `nowMs`: read through `invites_open`
   *  (schema 9), which holds only the unrevoked ones with uses left, by expiry. */
  private openOf(meshId: string, issuerMemberId: string, nowMs: number): number {
    // Expired is expires_at * 1000 <= now, as a claim judges it (seconds against milliseconds).
    return this.db
      .query<{ n: number }, [string, string, number]>(
        "SELECT count(*) AS n FROM invites WHERE mesh_id = ? AND issuer_member_id = ? AND revoked_at IS NULL AND used_count < max_uses AND expires_at > ?",
      )
      .get(meshId, issuerMemberId, Math.floor(nowMs / 1000))!.n;
  }

  get(inviteId: string): Invite | null {
    const row = this.db.query<InviteRow, [string]>("SELECT * FROM invites WHERE id = ?").get(inviteId);
    return row ? inviteFromRow(row) : null;
  }

  /** Revokes the invite and deletes its sealed keys (nobody may claim them any more), with
   *  `invite_revoked`. Revoking twice keeps the first time and writes nothing more. Unknown →
   *  MeshError not_found. */
  revoke(meshId: string, inviteId: string, actor: string): Invite {
    return writeTx(this.db, () => {
      const before = this.db.query<InviteRow, [string, string]>("SELECT * FROM invites WHERE id = ? AND mesh_id = ?").get(inviteId, meshId);
      if (!before) throw new MeshError("not_found", `No invite ${inviteId} in this mesh. \`claudemesh invite list\` lists them.`);
      if (before.revoked_at !== null) return inviteFromRow(before);
      const row = this.db
        .query<InviteRow, [number, string]>("UPDATE invites SET revoked_at = ?, keys_blob = NULL WHERE id = ? RETURNING *")
        .get(Date.now(), inviteId)!;
      this.audit.appendIn({ meshId, eventType: "invite_revoked", actor, payload: { inviteId, reason: null } });
      return inviteFromRow(row);
    });
  }

  /** Consumes one use, enrolls the member with the invite's role, joins #general and appends
   *  `member_joined` and `invite_claimed`, all or nothing. The last use deletes the sealed keys
   *  from the row but still hands them to that claimer. The key of a member enrolled through this
   *  invite claiming again gets that enrolment back (`repeated`). Throws MeshError invite_not_found,
   *  invite_revoked, invite_expired, invite_exhausted, or conflict (key or id already enrolled). */
  claim({ inviteId, nowMs, member, claim }: Claim): Claimed {
    return writeTx(this.db, () => {
      const inv = this.db.query<InviteRow, [string]>("SELECT * FROM invites WHERE id = ?").get(inviteId);
      if (!inv) throw new MeshError("invite_not_found");
      // The same key claiming again: its first claim's answer was lost (a dropped connection, a
      // Ctrl-C while it was under way). That claim counted; this one answers it again, whatever
      // the invite's state since, and writes nothing. (The sealed keys are gone if it was the
      // last use; the joiner then asks the owner for them.)
      const enrolled = this.db.query<MemberRow, [string, string, string]>("SELECT * FROM members WHERE mesh_id = ? AND pubkey = ? AND invite_id = ? AND revoked_at IS NULL").get(inv.mesh_id, member.pubkey, inviteId);
      if (enrolled) return { member: memberFromRow(enrolled), invite: inviteFromRow(inv), keysBlob: inv.keys_blob, repeated: true };
      // An invite outlives neither its revocation nor its issuer's (revoking a member revokes its
      // invites too; this also covers rows from before that rule).
      const issuer = this.db.query<{ revoked_at: number | null }, [string]>("SELECT revoked_at FROM members WHERE id = ?").get(inv.issuer_member_id);
      if (inv.revoked_at !== null || issuer?.revoked_at != null) throw new MeshError("invite_revoked");
      if (inv.expires_at * 1000 <= nowMs) throw new MeshError("invite_expired");
      const used = this.db
        .query<{ used_count: number }, [string]>(
          "UPDATE invites SET used_count = used_count + 1 WHERE id = ? AND used_count < max_uses AND revoked_at IS NULL RETURNING used_count",
        )
        .get(inviteId);
      if (!used) throw new MeshError("invite_exhausted");
      this.refuseEnrolled(inv.mesh_id, member);
      const row = this.db
        .query<MemberRow, [string, string, string, string, string, number, string, string, number]>(
          "INSERT INTO members (id, mesh_id, pubkey, display_name, role, joined_at, invite_id, claim_signature, claimed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
        )
        .get(member.id, inv.mesh_id, member.pubkey, member.displayName, inv.role, nowMs, inviteId, claim.inviteSignature, claim.timestamp)!;
      this.db
        .query("INSERT OR IGNORE INTO topic_members (topic_id, member_id, role, joined_at) SELECT id, ?, 'member', ? FROM topics WHERE mesh_id = ? AND name = ?")
        .run(member.id, nowMs, inv.mesh_id, GENERAL_TOPIC);
      const joined = { memberId: member.id, pubkey: member.pubkey, displayName: member.displayName, role: inv.role, inviteId };
      this.audit.appendIn({ meshId: inv.mesh_id, eventType: "member_joined", actor: member.id, payload: joined });
      const claimed = { inviteId, memberId: member.id, usedCount: used.used_count };
      this.audit.appendIn({ meshId: inv.mesh_id, eventType: "invite_claimed", actor: member.id, payload: claimed });
      if (used.used_count >= inv.max_uses) this.db.query("UPDATE invites SET keys_blob = NULL WHERE id = ?").run(inviteId);
      const after = this.db.query<InviteRow, [string]>("SELECT * FROM invites WHERE id = ?").get(inviteId)!;
      return { member: memberFromRow(row), invite: inviteFromRow(after), keysBlob: inv.keys_blob, repeated: false };
    });
  }

  private refuseEnrolled(meshId: string, member: Claim["member"]): void {
    const prior = this.db
      .query<{ revoked_at: number | null }, [string, string]>("SELECT revoked_at FROM members WHERE mesh_id = ? AND pubkey = ?")
      .get(meshId, member.pubkey);
    if (prior) {
      // A removed member's key keeps its row (the history names it); it rejoins with a new key.
      throw new MeshError("conflict", prior.revoked_at === null ? "this key is already a member of the mesh" : "this key was removed from the mesh; join with a new key");
    }
    // A session key belongs to one member for good (protocol §2.4); as a member key it would also
    // lock that member's session out.
    if (this.db.query("SELECT 1 FROM sessions WHERE mesh_id = ? AND pubkey = ?").get(meshId, member.pubkey)) {
      throw new MeshError("conflict", "this key is a session key of a member of the mesh; join with a new key");
    }
    if (this.db.query("SELECT 1 FROM members WHERE id = ?").get(member.id)) throw new MeshError("conflict", "member id already exists");
  }
}
