// A mesh's invites a page at a time (docs/protocol.md §4.3.23). Rows are never deleted, so a page
// must cost what it holds, never the mesh's history: every statement is a range of `invites_mesh`
// (schema 9: mesh_id, created_at, and the rowid SQLite keeps at the end of every index entry), read
// in that order. A place in the list is (created_at, rowid): unambiguous however many invites share
// a millisecond. The cursor on the wire is the id of the invite at that place (its row never goes
// away), so no rowid leaves the store.
import type { Database } from "bun:sqlite";
import { MeshError } from "../../protocol/errors.ts";
import { INVITE_PAGE_SCAN } from "../../protocol/limits.ts";
import type { InvitePage, InvitePageQuery, ListedInvite } from "../types.ts";

type Place = { c: number; r: number };
/** Before every row: created_at and rowid are never negative. */
const START: Place = { c: -1, r: -1 };
/** After every row. */
const END: Place = { c: Number.MAX_SAFE_INTEGER, r: Number.MAX_SAFE_INTEGER };

/** The columns a listed invite shows: not the signatures or the sealed keys (up to 16 KiB a row). */
const COLUMNS = "id, mesh_id, role, max_uses, used_count, expires_at, issuer_member_id, created_at, revoked_at";
type Row = { id: string; mesh_id: string; role: string; max_uses: number; used_count: number; expires_at: number; issuer_member_id: string; created_at: number; revoked_at: number | null };

/** Open at $openAt (seconds), as a claim judges it (invite-repo.ts), or every row when it is null. */
const OPEN = "($openAt IS NULL OR (revoked_at IS NULL AND used_count < max_uses AND expires_at > $openAt))";
/** The rows of the mesh after $after and up to $upTo, in order. */
const RANGE = "mesh_id = $meshId AND (created_at, rowid) > ($afterC, $afterR) AND (created_at, rowid) <= ($upToC, $upToR)";

const fromRow = (r: Row): ListedInvite => ({
  id: r.id,
  meshId: r.mesh_id,
  role: r.role as ListedInvite["role"],
  maxUses: r.max_uses,
  usedCount: r.used_count,
  expiresAt: r.expires_at,
  issuerMemberId: r.issuer_member_id,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
});

/** The page `q` asks for (InvitePageQuery). An afterInviteId of no invite of the mesh (another
 *  mesh's included, which is no place in this one's list) → MeshError invalid_argument. */
export function invitePage(db: Database, meshId: string, q: InvitePageQuery): InvitePage {
  const after = q.afterInviteId === null ? START : placeOf(db, meshId, q.afterInviteId);
  const base = { meshId, afterC: after.c, afterR: after.r, openAt: q.openAt };
  if (q.inviteId !== null) {
    const row = db.query<Row, Record<string, string | number | null>>(`SELECT ${COLUMNS} FROM invites WHERE id = $id AND ${RANGE} AND ${OPEN}`).get({ ...base, id: q.inviteId, upToC: END.c, upToR: END.r });
    return { invites: row ? [fromRow(row)] : [], next: null };
  }
  // Every row matches without `open`: reading limit + 1 says whether any follows the page. With it,
  // open rows may be few among many closed ones: the request looks at no more than the
  // INVITE_PAGE_SCAN rows after `after`, the window, and goes on from the window's last row.
  const window = q.openAt === null ? null : windowEnd(db, meshId, after);
  const upTo = window?.last ?? END;
  const rows = db
    .query<Row, Record<string, string | number | null>>(`SELECT ${COLUMNS} FROM invites WHERE ${RANGE} AND ${OPEN} ORDER BY created_at, rowid LIMIT $n`)
    .all({ ...base, upToC: upTo.c, upToR: upTo.r, n: q.limit + 1 });
  if (rows.length > q.limit) return { invites: rows.slice(0, q.limit).map(fromRow), next: rows[q.limit - 1]!.id };
  return { invites: rows.map(fromRow), next: window?.more ? window.last.id : null };
}

/** Where the invite `inviteId` of the mesh stands; throws invalid_argument when it has none. */
function placeOf(db: Database, meshId: string, inviteId: string): Place {
  const at = db.query<Place, [string, string]>("SELECT created_at AS c, rowid AS r FROM invites WHERE id = ? AND mesh_id = ?").get(inviteId, meshId);
  if (at) return at;
  throw new MeshError("invalid_argument", `No invite ${inviteId} in this mesh to list after: give the next of the page before (afterInviteId), or leave afterInviteId out to list from the first invite.`);
}

/** The INVITE_PAGE_SCAN-th row after `after` (the window's last), and whether any row follows it;
 *  null when fewer rows follow `after` (the window runs to the list's end). Counted through the
 *  index alone; only that row's id is read from the table. */
function windowEnd(db: Database, meshId: string, after: Place): { last: Place & { id: string }; more: boolean } | null {
  const rows = db
    .query<Place, [string, number, number, number]>("SELECT created_at AS c, rowid AS r FROM invites WHERE mesh_id = ? AND (created_at, rowid) > (?, ?) ORDER BY created_at, rowid LIMIT 2 OFFSET ?")
    .all(meshId, after.c, after.r, INVITE_PAGE_SCAN - 1);
  const last = rows[0];
  if (!last) return null;
  const { id } = db.query<{ id: string }, [number]>("SELECT id FROM invites WHERE rowid = ?").get(last.r)!;
  return { last: { ...last, id }, more: rows.length > 1 };
}
