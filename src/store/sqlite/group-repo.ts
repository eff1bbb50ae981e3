// Groups: ad-hoc names (@name) members put themselves in; no rows of their own besides membership.
import type { Database } from "bun:sqlite";

export class GroupRepo {
  constructor(private readonly db: Database) {}

  /** Idempotent. */
  join(meshId: string, group: string, memberId: string): void {
    this.db.query("INSERT OR IGNORE INTO group_members (mesh_id, group_name, member_id) VALUES (?, ?, ?)").run(meshId, group, memberId);
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

  /** Names of the groups the member is in. */
  ofMember(memberId: string): string[] {
    return this.db.query<{ group_name: string }, [string]>("SELECT group_name FROM group_members WHERE member_id = ? ORDER BY group_name").all(memberId).map((r) => r.group_name);
  }
}
