// What a mesh's audit chain says its membership, invites and grants are, compared with the tables
// the broker acts on. SQLite keeps no checksum of a row: a byte changed inside a member's role or
// key, a revocation, an invite's role or use count, or a grant's caps can leave a valid value that
// quick_check and the chain's own hashes both pass. Every change of those fields is written in the
// same transaction as the entry that records it (store/sqlite/*-repo.ts), and the chain verifies,
// so the state folded from the chain is what the tables must hold.
//
// Determined by the chain, and compared: the mesh's owner key and key epoch; each member's key,
// role, invite, whether it was removed, by whom (itself for a leave) and whether banned; each
// invite's role, use limit, expiry, uses, issuer and whether revoked; each grant's caps. Not
// recorded by it, and so not compared: display names, presence, removal times and reasons,
// sealed invite keys, sessions, topic and group membership (docs/decisions.md, session 18).
import type { ChainEntry } from "../protocol/audit-chain.ts";
import type { GrantFacts, InviteFacts, MemberFacts, MeshFacts, SecurityFacts } from "../store/sqlite/audit-tables.ts";

/** The first field found stored otherwise than the chain says. `row` names the record; `field`
 *  is "row" when the record is in one and not the other (`stored`/`chain` then "present" or
 *  "absent"); `entry` is the last entry that set the record (null when the chain has none). */
export type Mismatch = { table: "meshes" | "members" | "invites" | "grants"; row: string; field: string; stored: string; chain: string; entry: number | null };

type Traced<T> = T & { at: number };
type Payload = Record<string, unknown>;

const NO_ROWS: SecurityFacts = { mesh: null, members: [], grants: [], invites: [] };
const grantKey = (g: { recipient?: unknown; sender?: unknown }) => `${g.recipient} ${g.sender}`;

/** Folds one mesh's entries, oldest first, into the state they imply. Fed the pages of the walk
 *  that verifies the chain, so the chain is read once. Entries of other types, and changes to a
 *  member or invite the chain never created, change nothing (the rows are compared anyway). */
export class ChainReplay {
  private mesh: Traced<MeshFacts> | null = null;
  private readonly members = new Map<string, Traced<MemberFacts>>();
  private readonly invites = new Map<string, Traced<InviteFacts>>();
  private readonly grants = new Map<string, Traced<GrantFacts>>();

  apply(entries: readonly ChainEntry[]): void {
    for (const e of entries) this.applyOne(e, (typeof e.payload === "object" && e.payload !== null ? e.payload : {}) as Payload);
  }

  private applyOne(e: ChainEntry, p: Payload): void {
    const at = e.seq;
    const member = this.members.get(String(p.memberId));
    const invite = this.invites.get(String(p.inviteId));
    switch (e.eventType) {
      case "mesh_created":
        this.mesh = { ownerPubkey: p.ownerPubkey as string, keyEpoch: 0, at };
        this.members.set(String(e.actor), { id: String(e.actor), pubkey: p.ownerPubkey as string, role: "owner", inviteId: null, revoked: false, revokedBy: null, banned: 0, at });
        return;
      case "key_rotated":
        if (this.mesh) Object.assign(this.mesh, { keyEpoch: p.epoch, at });
        return;
      case "member_joined":
        this.members.set(String(p.memberId), { id: String(p.memberId), pubkey: p.pubkey as string, role: p.role as string, inviteId: p.inviteId as string, revoked: false, revokedBy: null, banned: 0, at });
        return;
      case "member_left":
      case "member_revoked":
        // Revoking twice keeps the ban of either and the first actor (member-repo.ts: banned =
        // MAX(banned, ?), revoked_by = COALESCE(revoked_by, ?)); a leave is the member's own act.
        if (member) {
          const by = member.revoked ? member.revokedBy : e.eventType === "member_left" ? String(p.memberId) : String(e.actor);
          Object.assign(member, { revoked: true, revokedBy: by, banned: p.ban === true ? 1 : member.banned, at });
        }
        return;
      case "invite_created":
        this.invites.set(String(p.inviteId), { id: String(p.inviteId), role: p.role as string, maxUses: p.maxUses as number, expiresAt: p.expiresAt as number, usedCount: 0, issuer: String(e.actor), revoked: false, at });
        return;
      case "invite_claimed":
        if (invite) Object.assign(invite, { usedCount: p.usedCount, at });
        return;
      case "invite_revoked":
        if (invite) Object.assign(invite, { revoked: true, at });
        return;
      case "grant_changed":
        // The stored caps are the request's list as JSON text, which the payload holds as is.
        if (p.caps === null) this.grants.delete(grantKey(p));
        else this.grants.set(grantKey(p), { recipient: p.recipient as string, sender: p.sender as string, caps: JSON.stringify(p.caps), at });
    }
  }

  /** The first disagreement between the state folded so far and `stored` (undefined: a mesh
   *  without rows), or null. */
  diff(stored: SecurityFacts = NO_ROWS): Mismatch | null {
    const mesh = new Map(this.mesh ? [["", this.mesh]] : []);
    return (
      diffRecords("meshes", () => "the mesh's record", mesh, stored.mesh ? [stored.mesh] : [], () => "", ["ownerPubkey", "keyEpoch"]) ??
      diffRecords("members", (m) => `member ${m.id}`, this.members, stored.members, (m) => m.id, ["pubkey", "role", "inviteId", "revoked", "revokedBy", "banned"]) ??
      diffRecords("invites", (i) => `invite ${i.id}`, this.invites, stored.invites, (i) => i.id, ["role", "maxUses", "expiresAt", "usedCount", "issuer", "revoked"]) ??
      diffRecords("grants", (g) => `the grant of member ${g.recipient} to key ${g.sender}`, this.grants, stored.grants, grantKey, ["caps"])
    );
  }
}

function diffRecords<T extends object>(table: Mismatch["table"], name: (r: T) => string, chain: ReadonlyMap<string, Traced<T>>, rows: readonly T[], key: (r: T) => string, fields: readonly (keyof T & string)[]): Mismatch | null {
  const seen = new Set<string>();
  for (const row of rows) {
    const k = key(row);
    const implied = chain.get(k);
    // A key seen twice: a flipped byte made two rows of one (the table's own key is unique).
    if (!implied || seen.has(k)) return { table, row: name(row), field: "row", stored: "present", chain: "absent", entry: null };
    seen.add(k);
    for (const f of fields) {
      // Undefined: a column the file's schema does not have yet (audit-tables.ts), not a value.
      if (row[f] !== undefined && row[f] !== implied[f]) return { table, row: name(row), field: f, stored: shown(f, row[f]), chain: shown(f, implied[f]), entry: implied.at };
    }
  }
  // Every row matched a distinct record: a record is missing only when the counts differ.
  if (seen.size < chain.size) for (const [k, implied] of chain) if (!seen.has(k)) return { table, row: name(implied), field: "row", stored: "absent", chain: "present", entry: implied.at };
  return null;
}

/** Strings quoted, except caps: already JSON. */
const shown = (field: string, v: unknown) => (typeof v === "string" && field !== "caps" ? JSON.stringify(v) : String(v));

/** The mismatch in words: "member mbr_1: role is "admin" in the table, "member" by the chain (entry 4)". */
export function mismatchText(m: Mismatch): string {
  const by = m.entry === null ? "" : ` (entry ${m.entry})`;
  if (m.field !== "row") return `${m.row}: ${m.field} is ${m.stored} in the table, ${m.chain} by the chain${by}`;
  return m.stored === "present" ? `${m.row} is in the ${m.table} table, but no entry of the chain makes it` : `${m.row}, made by the chain${by}, is not in the ${m.table} table`;
}
