// The rows a mesh's audit chain determines, read for the start's replay check (broker/audit-replay.ts):
// the security fields of meshes, members, grants and invites, and nothing the chain does not
// record (display names, presence, revocation times, sealed keys). Each table is read once, whole,
// and grouped by the mesh id its rows carry, so the check costs one scan a table however many
// meshes there are.
import type { Database } from "bun:sqlite";

export type MeshFacts = { ownerPubkey: string; keyEpoch: number };
/** `revokedBy` undefined: the file predates schema 5 (a backup or restore reads a file as it is,
 *  unmigrated), so nothing stored can disagree with the chain; its upgrade fills it from the chain. */
export type MemberFacts = { id: string; pubkey: string; role: string; inviteId: string | null; revoked: boolean; revokedBy?: string | null; banned: number };
/** `caps` as stored: the JSON text the broker wrote from the request, as the chain records it. */
export type GrantFacts = { recipient: string; sender: string; caps: string };
export type InviteFacts = { id: string; role: string; maxUses: number; expiresAt: number; usedCount: number; issuer: string; revoked: boolean };
/** One mesh's rows; `mesh` null when rows name a mesh the meshes table does not hold. */
export type SecurityFacts = { mesh: MeshFacts | null; members: MemberFacts[]; grants: GrantFacts[]; invites: InviteFacts[] };

type Revocable = { revoked: number };

/** Every mesh's facts, by mesh id (from any of the four tables). Throws what SQLite throws. */
export function securityFacts(db: Database): Map<string, SecurityFacts> {
  const out = new Map<string, SecurityFacts>();
  const of = (meshId: string) => out.get(meshId) ?? out.set(meshId, { mesh: null, members: [], grants: [], invites: [] }).get(meshId)!;
  for (const { meshId, ...mesh } of db.query<MeshFacts & { meshId: string }, []>("SELECT id AS meshId, owner_pubkey AS ownerPubkey, key_epoch AS keyEpoch FROM meshes").all()) {
    of(meshId).mesh = mesh;
  }
  // `admin backup` and `admin restore` verify a file of an older schema without migrating it.
  const hasRevokedBy = db.query("SELECT 1 FROM pragma_table_info('members') WHERE name = 'revoked_by'").get() !== null;
  const members = db.query<Omit<MemberFacts, "revoked"> & Revocable & { meshId: string }, []>(
    `SELECT mesh_id AS meshId, id, pubkey, role, invite_id AS inviteId, revoked_at IS NOT NULL AS revoked,${hasRevokedBy ? " revoked_by AS revokedBy," : ""} banned FROM members`,
  );
  for (const { meshId, revoked, ...m } of members.all()) of(meshId).members.push({ ...m, revoked: revoked === 1 });
  const grants = db.query<GrantFacts & { meshId: string }, []>("SELECT mesh_id AS meshId, recipient_member_id AS recipient, sender_pubkey AS sender, caps FROM grants");
  for (const { meshId, ...g } of grants.all()) of(meshId).grants.push(g);
  const invites = db.query<Omit<InviteFacts, "revoked"> & Revocable & { meshId: string }, []>(
    `SELECT mesh_id AS meshId, id, role, max_uses AS maxUses, expires_at AS expiresAt, used_count AS usedCount,
       issuer_member_id AS issuer, revoked_at IS NOT NULL AS revoked FROM invites`,
  );
  for (const { meshId, revoked, ...i } of invites.all()) of(meshId).invites.push({ ...i, revoked: revoked === 1 });
  return out;
}

const TABLES = ["meshes", "members", "invites", "grants"] as const;

/** Each table above checked against its indexes (SQLite's integrity_check, limited to the table):
 *  "ok", or the first table's findings. The replay reads the tables whole, while the broker finds
 *  a mesh, a member's key or an invite through an index, and quick_check does not compare the
 *  two: a flipped byte in an index entry hid a mesh or an owner from its hello. */
export function securityIndexCheck(db: Database): string {
  for (const table of TABLES) {
    const found = db.query<{ integrity_check: string }, []>(`PRAGMA integrity_check(${table})`).all().map((r) => r.integrity_check).join("; ");
    if (found !== "ok") return `${table}: ${found}`;
  }
  return "ok";
}
