// Meshes: creation (with owner, #general and the first audit entry) and the key epoch.
import type { Database } from "bun:sqlite";
import { MeshError } from "../../protocol/errors.ts";
import type { Member, Mesh } from "../types.ts";
import type { AuditRepo } from "./audit-repo.ts";
import { meshFromRow, memberFromRow, type MemberRow, type MeshRow } from "./rows.ts";
import { writeTx } from "./transaction.ts";

/** The topic every mesh starts with and every member joins. */
export const GENERAL_TOPIC = "general";

export type NewMesh = { mesh: Omit<Mesh, "keyEpoch">; owner: { id: string; pubkey: string; displayName: string } };

export class MeshRepo {
  constructor(
    private readonly db: Database,
    private readonly audit: AuditRepo,
  ) {}

  /** Creates the mesh, its owner member, #general led by the owner and the `mesh_created` entry in
   *  one transaction. A taken slug or id throws MeshError conflict and changes nothing, except for
   *  the same mesh created again by the same owner key (its first answer was lost): that mesh and
   *  its owner come back with `repeated`, and nothing is written. */
  create({ mesh, owner }: NewMesh): { mesh: Mesh; owner: Member; repeated: boolean } {
    return writeTx(this.db, () => {
      const same = this.db.query<MeshRow, [string, string, string]>("SELECT * FROM meshes WHERE id = ? AND slug = ? AND owner_pubkey = ?").get(mesh.id, mesh.slug, mesh.ownerPubkey);
      const first = same && this.db.query<MemberRow, [string, string]>("SELECT * FROM members WHERE mesh_id = ? AND pubkey = ? AND role = 'owner'").get(mesh.id, mesh.ownerPubkey);
      if (same && first) return { mesh: meshFromRow(same), owner: memberFromRow(first), repeated: true };
      const taken = this.db
        .query<{ slug: string }, [string, string]>("SELECT slug FROM meshes WHERE id = ? OR slug = ?")
        .get(mesh.id, mesh.slug);
      if (taken) throw new MeshError("conflict", taken.slug === mesh.slug ? "mesh slug already taken" : "mesh id already exists");
      if (this.db.query("SELECT 1 FROM members WHERE id = ?").get(owner.id)) throw new MeshError("conflict", "member id already exists");
      const meshRow = this.db
        .query<MeshRow, [string, string, string, string, number]>(
          "INSERT INTO meshes (id, slug, name, owner_pubkey, created_at) VALUES (?, ?, ?, ?, ?) RETURNING *",
        )
        .get(mesh.id, mesh.slug, mesh.name, mesh.ownerPubkey, mesh.createdAt)!;
      const ownerRow = this.db
        .query<MemberRow, [string, string, string, string, number]>(
          "INSERT INTO members (id, mesh_id, pubkey, display_name, role, joined_at) VALUES (?, ?, ?, ?, 'owner', ?) RETURNING *",
        )
        .get(owner.id, mesh.id, owner.pubkey, owner.displayName, mesh.createdAt)!;
      const topic = this.db
        .query<{ id: number }, [string, string, string, string, number]>(
          "INSERT INTO topics (mesh_id, name, description, created_by, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .get(mesh.id, GENERAL_TOPIC, "Everyone in the mesh", owner.id, mesh.createdAt)!;
      this.db.query("INSERT INTO topic_members (topic_id, member_id, role, joined_at) VALUES (?, ?, 'lead', ?)").run(topic.id, owner.id, mesh.createdAt);
      this.audit.appendIn({
        meshId: mesh.id,
        eventType: "mesh_created",
        actor: owner.id,
        payload: { slug: mesh.slug, name: mesh.name, ownerPubkey: mesh.ownerPubkey },
      });
      return { mesh: meshFromRow(meshRow), owner: memberFromRow(ownerRow), repeated: false };
    });
  }

  get(meshId: string): Mesh | null {
    const row = this.db.query<MeshRow, [string]>("SELECT * FROM meshes WHERE id = ?").get(meshId);
    return row ? meshFromRow(row) : null;
  }

  list(): (Mesh & { activeMembers: number })[] {
    const rows = this.db
      .query<MeshRow & { active_members: number }, []>(
        "SELECT m.*, (SELECT COUNT(*) FROM members WHERE mesh_id = m.id AND revoked_at IS NULL) AS active_members FROM meshes m ORDER BY m.created_at, m.id",
      )
      .all();
    return rows.map((r) => ({ ...meshFromRow(r), activeMembers: r.active_members }));
  }

  /** Records a key rotation (`key_rotated`). Unknown mesh → MeshError not_found. */
  setKeyEpoch(meshId: string, epoch: number, actor: string, reason: string | null): void {
    writeTx(this.db, () => {
      const { changes } = this.db.query("UPDATE meshes SET key_epoch = ? WHERE id = ?").run(epoch, meshId);
      if (changes !== 1) throw new MeshError("not_found", "no such mesh");
      this.audit.appendIn({ meshId, eventType: "key_rotated", actor, payload: { epoch, reason } });
    });
  }
}
