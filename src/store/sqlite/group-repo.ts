// Groups: ad-hoc names (@name) members put themselves in; no rows of their own besides membership.
import type { Database } from "bun:sqlite";
import { MeshError } from "../../protocol/errors.ts";
import { MAX_GROUPS_PER_MEMBER } from "../../protocol/limits.ts";

export class GroupRepo {
  constructor(private readonly db: Database) {}

  /** Idempotent. A member already in MAX_GROUPS_PER_MEMBER groups of the mesh joins no other:
   *  MeshError invalid_argument, nothing written. Called inside the store's write, so joins that
   *  arrive together are counted one after the other. */
  join(meshId: string, group: string, memberId: string): void {
    if (this.db.query("SELECT 1 FROM group_members WHERE mesh_id = ? AND group_name = ? AND member_id = ?").get(meshId, group, memberId)) return;
    if (this.ofMember(meshId, memberId).length >= MAX_GROUPS_PER_MEMBER) {
      throw new MeshError("invalid_argument", `You are in ${MAX_GROUPS_PER_MEMBER} groups, the most a member may be in: leave one first (claudemesh group leave NAME).`);
    }
    this.db.query("INSERT INTO group_members (mesh_id, group_name, member_id) VALUES (?, ?, ?)").run(meshId, group, memberId);
  }

  /** Idempotent. */
  leave(meshId: string, group: string, memberId: string): void {
    this.db.query("DELETE FROM group_members WHERE mesh_id = ? AND group_name = ? AND member_id = ?").run(meshId, group, memberId);
  }

  /** Ids of the group's active (not revoked) members. */
  members(meshId: string, group: string): string[] {
    return this.db
      .query<{ id: string }, [string, string]>(
        `SELECT m.id FROM group_members g JOIN members m ON m.id = g.member_id
         WHERE g.mesh_id = ? AND g.group_name = ? AND m.revoked_at IS NULL ORDER BY m.id`,
      )
      .all(meshId, group)
      .map((r) => r.id);
  }

  /** Member id → names of its groups (sorted), for every member of the mesh in a group, in one
   *  statement; a member in no group is absent. Revoked members are in none (revoke leaves them). */
  ofMesh(meshId: string): Map<string, string[]> {
    // Walks the (mesh_id, group_name, member_id) key in order, so each list comes out sorted.
    const rows = this.db
      .query<{ member_id: string; group_name: string }, [string]>("SELECT member_id, group_name FROM group_members WHERE mesh_id = ? ORDER BY group_name")
      .all(meshId);
    const out = new Map<string, string[]>();
    for (const r of rows) {
      const list = out.get(r.member_id);
      if (list) list.push(r.group_name);
      else out.set(r.member_id, [r.group_name]);
    }
    return out;
  }

  /** Names of the groups the member is in, sorted. Read through the index by member (schema 9),
   *  which holds the name too: the member's own rows, not its mesh's. */
  ofMember(meshId: string, memberId: string): string[] {
    return this.db
      .query<{ group_name: string }, [string, string]>("SELECT group_name FROM group_members WHERE mesh_id = ? AND member_id = ? ORDER BY group_name")
      .all(meshId, memberId)
      .map((r) => r.group_name);
  }
}
