// Members of a mesh: lookup, presence and removal.
import type { Database } from "bun:sqlite";
import type { Status } from "../../protocol/fields.ts";
import { MeshError } from "../../protocol/errors.ts";
import type { Admission, Member } from "../types.ts";
import type { AuditRepo } from "./audit-repo.ts";
import type { QueueEntry, QueueIndex } from "./queue-index.ts";
import { deleteEntries } from "./queue-repo.ts";
import { memberFromRow, type MemberRow } from "./rows.ts";
import { writeTx } from "./transaction.ts";

type AdmissionRow = { member_id: string; invite_id: string; role: string; max_uses: number; expires_at: number; issuer_pubkey: string; signature: string; invite_pubkey: string; key_signature: string | null; claimed_at: number; claim_signature: string };
const ADMISSION_SELECT = `SELECT m.id AS member_id, i.id AS invite_id, i.role, i.max_uses, i.expires_at, i.issuer_pubkey, i.signature, i.invite_pubkey, i.key_signature, m.claimed_at, m.claim_signature
  FROM members m JOIN invites i ON i.id = m.invite_id`;
/** A member row that holds its claim: enrolled through an invite since the broker kept evidence. */
const CLAIMED = "m.claim_signature IS NOT NULL AND m.claimed_at IS NOT NULL";
const admissionFromRow = (r: AdmissionRow): Admission => ({
  inviteId: r.invite_id,
  role: r.role as Admission["role"],
  maxUses: r.max_uses,
  expiresAt: r.expires_at,
  issuerPubkey: r.issuer_pubkey,
  inviteSignature: r.signature,
  invitePubkey: r.invite_pubkey,
  keySignature: r.key_signature,
  claimedAt: r.claimed_at,
  claimSignature: r.claim_signature,
});

export type Revocation = { actor: string; ban: boolean; reason: string | null; self: boolean };
/** A removal's member record, and the invites closed with it. */
export type Revoked = { member: Member; invitesRevoked: string[] };
export type Presence = { status?: Status; summary?: string; lastSeenAt?: number };

export class MemberRepo {
  constructor(
    private readonly db: Database,
    private readonly audit: AuditRepo,
    private readonly index: QueueIndex,
  ) {}

  get(meshId: string, memberId: string): Member | null {
    const row = this.db.query<MemberRow, [string, string]>("SELECT * FROM members WHERE mesh_id = ? AND id = ?").get(meshId, memberId);
    return row ? memberFromRow(row) : null;
  }

  getByPubkey(meshId: string, pubkey: string): Member | null {
    const row = this.db.query<MemberRow, [string, string]>("SELECT * FROM members WHERE mesh_id = ? AND pubkey = ?").get(meshId, pubkey);
    return row ? memberFromRow(row) : null;
  }

  /** All members, revoked ones included, in joining order. */
  list(meshId: string): Member[] {
    return this.db.query<MemberRow, [string]>("SELECT * FROM members WHERE mesh_id = ? ORDER BY joined_at, rowid").all(meshId).map(memberFromRow);
  }

  /** The members not revoked, in joining order. The rows of those who left are skipped by SQLite
   *  rather than made into objects and dropped: a mesh's churn leaves more of them every week. */
  listActive(meshId: string): Member[] {
    return this.db.query<MemberRow, [string]>("SELECT * FROM members WHERE mesh_id = ? AND revoked_at IS NULL ORDER BY joined_at, rowid").all(meshId).map(memberFromRow);
  }

  /** The stored evidence of each enrolment through an invite (§11.5), by member id. */
  admissions(meshId: string): Map<string, Admission> {
    const rows = this.db.query<AdmissionRow, [string]>(`${ADMISSION_SELECT} WHERE m.mesh_id = ? AND ${CLAIMED}`).all(meshId);
    return new Map(rows.map((r) => [r.member_id, admissionFromRow(r)]));
  }

  /** One member's evidence (admissions() holds the same), or null: the owner, or enrolled before
   *  the broker kept it. */
  admission(meshId: string, memberId: string): Admission | null {
    const row = this.db.query<AdmissionRow, [string, string]>(`${ADMISSION_SELECT} WHERE m.mesh_id = ? AND m.id = ? AND ${CLAIMED}`).get(meshId, memberId);
    return row ? admissionFromRow(row) : null;
  }

  /** How many members (removed ones included) admissions() shows enrolled through the invite. */
  claimsThrough(meshId: string, inviteId: string): number {
    return this.db.query<{ n: number }, [string, string]>(`SELECT count(*) AS n FROM members m JOIN invites i ON i.id = m.invite_id WHERE m.mesh_id = ? AND m.invite_id = ? AND ${CLAIMED}`).get(meshId, inviteId)!.n;
  }

  /** Marks the member revoked (and banned if asked), drops it from topics and groups, ends its
   *  sessions, deletes every queued row of its member and session mailboxes and revokes the
   *  invites it issued that still had uses (and, unless it left by itself, the one it joined
   *  through), with the audit entries (`member_left` when `by.self`,
   *  else `member_revoked`; `invite_revoked` per invite), in one transaction. Records who acted
   *  (`revokedBy`: the member itself when `by.self`, else `by.actor`). A member already revoked
   *  → MeshError conflict, and nothing changes: one removal, one record, one audit entry.
   *  Unknown member → MeshError not_found. */
  revoke(meshId: string, memberId: string, by: Revocation): Revoked {
    const dropped: QueueEntry[] = [];
    const member = writeTx(this.db, () => {
      const now = Date.now();
      const row = this.db
        .query<MemberRow, [number, string | null, string, number, string, string]>(
          `UPDATE members SET revoked_at = ?, revoked_reason = ?, revoked_by = ?, banned = ?
           WHERE mesh_id = ? AND id = ? AND revoked_at IS NULL RETURNING *`,
        )
        .get(now, by.reason, by.self ? memberId : by.actor, by.ban ? 1 : 0, meshId, memberId);
      if (!row) {
        const known = this.db.query("SELECT 1 FROM members WHERE mesh_id = ? AND id = ?").get(meshId, memberId);
        throw known ? new MeshError("conflict", "That member was already removed.") : new MeshError("not_found", "no such member");
      }
      // Through the indexes by member (schema 9). A member id is one mesh's (the key of members),
      // so its topic rows are all of that mesh: the mesh's topics need not be read to find them.
      this.db.query("DELETE FROM topic_members WHERE member_id = ?").run(memberId);
      this.db.query("DELETE FROM group_members WHERE mesh_id = ? AND member_id = ?").run(meshId, memberId);
      this.db.query("UPDATE sessions SET ended_at = ? WHERE member_id = ? AND ended_at IS NULL").run(now, memberId);
      dropped.push(...this.clearMailboxes(meshId, row.pubkey, memberId));
      const payload = by.self ? { memberId } : { memberId, ban: by.ban, reason: by.reason };
      this.audit.appendIn({ meshId, eventType: by.self ? "member_left" : "member_revoked", actor: by.actor, payload });
      // Invites it issued end with it: otherwise a removed admin rejoins with a new key through
      // an invite it made beforehand (a ban only ever named the old key). So does the one it was
      // removed with joined through, which its link would enrol again under a new key (a member
      // who leaves by itself keeps that door open).
      const invites = this.closeInvites(meshId, now, memberId, by.self ? null : row.invite_id);
      for (const inv of invites) {
        const reason = inv.issuer_member_id === memberId ? "issuer removed" : "used by a removed member";
        this.audit.appendIn({ meshId, eventType: "invite_revoked", actor: by.actor, payload: { inviteId: inv.id, reason } });
      }
      return { member: memberFromRow(row), invitesRevoked: invites.map((i) => i.id) };
    });
    this.index.remove(dropped);
    return member;
  }

  /** Revokes the invites `issuer` made that still had uses, and the invite `joinedThrough` (when
   *  given and still with uses), in the order they were created. Two statements, not one with an
   *  OR: each goes through its index (the open invites of an issuer, schema 9; the invite's id),
   *  where the OR read every invite of the mesh. */
  private closeInvites(meshId: string, now: number, issuer: string, joinedThrough: string | null): { id: string; issuer_member_id: string }[] {
    const close = (which: string, key: string) =>
      this.db
        .query<{ id: string; issuer_member_id: string; seq: number }, [number, string, string]>(
          `UPDATE invites SET revoked_at = ?, keys_blob = NULL
           WHERE mesh_id = ? AND ${which} = ? AND revoked_at IS NULL AND used_count < max_uses RETURNING id, issuer_member_id, rowid AS seq`,
        )
        .all(now, meshId, key);
    const closed = [...close("issuer_member_id", issuer), ...(joinedThrough === null ? [] : close("id", joinedThrough))];
    return closed.sort((a, b) => a.seq - b.seq);
  }

  /** Deletes the rows of the member's and its sessions' mailboxes; returns their entries. */
  private clearMailboxes(meshId: string, memberPubkey: string, memberId: string): QueueEntry[] {
    const sessions = this.db.query<{ pubkey: string }, [string, string]>("SELECT pubkey FROM sessions WHERE mesh_id = ? AND member_id = ?").all(meshId, memberId);
    const entries = [memberPubkey, ...sessions.map((s) => s.pubkey)].flatMap((pubkey) => this.index.entriesOf(meshId, pubkey));
    deleteEntries(this.db, entries);
    return entries;
  }

  /** Updates presence of the member, or else the session, holding `pubkey`; fields left out keep
   *  their value. An unknown key changes nothing. */
  setPresence(meshId: string, pubkey: string, f: Presence): void {
    const args = [f.status ?? null, f.summary ?? null, f.lastSeenAt ?? null, meshId, pubkey] as const;
    const set = "status = COALESCE(?, status), summary = COALESCE(?, summary), last_seen_at = COALESCE(?, last_seen_at)";
    writeTx(this.db, () => {
      const { changes } = this.db.query(`UPDATE members SET ${set} WHERE mesh_id = ? AND pubkey = ?`).run(...args);
      if (changes === 0) this.db.query(`UPDATE sessions SET ${set} WHERE mesh_id = ? AND pubkey = ?`).run(...args);
    });
  }
}
