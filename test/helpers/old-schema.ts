// A broker database as an older claudemesh left it: migrated only up to `version`, holding one mesh
// (so that a newer binary backs it up before migrating) with its owner, and the mesh_created entry
// every mesh's audit chain starts with, by that owner (`serve` verifies the chain and replays it
// against the tables), closed cleanly (no -wal or -shm).
import type { Database } from "bun:sqlite";
import { join } from "node:path";
import { auditHash, GENESIS } from "../../src/protocol/audit-chain.ts";
import { canonicalJson } from "../../src/protocol/canonical-json.ts";
import { MIGRATIONS } from "../../src/store/migrations.ts";
import { migrate } from "../../src/store/sqlite/migrate.ts";
import { openDatabase } from "../../src/store/sqlite/open.ts";

export function oldSchemaDatabase(dataDir: string, version = 3): string {
  const path = join(dataDir, "claudemesh.db");
  const db = openDatabase(path, { synchronous: "normal" });
  migrate(db, MIGRATIONS.filter((m) => m.version <= version), null);
  db.run("INSERT INTO meshes (id, slug, name, owner_pubkey, created_at) VALUES ('mesh1', 'team', 'Team', 'ownerkey', 0)");
  db.run("INSERT INTO members (id, mesh_id, pubkey, display_name, role, joined_at) VALUES ('owner1', 'mesh1', 'ownerkey', 'owner', 'owner', 0)");
  const payload = { slug: "team", name: "Team", ownerPubkey: "ownerkey" };
  const at = new Date(0).toISOString();
  db.run("INSERT INTO audit_log (mesh_id, seq, event_type, actor, payload, created_at, prev_hash, hash) VALUES ('mesh1', 1, 'mesh_created', 'owner1', ?, ?, ?, ?)", [
    canonicalJson(payload), at, GENESIS, auditHash(GENESIS, "mesh1", "mesh_created", "owner1", payload, at),
  ]);
  db.close();
  return path;
}

/** Drops every index migration `version` creates (named in its SQL), as a database from before
 *  that migration has none of them: for tests that take a database back by hand. */
export function dropIndexesOf(db: Database, version: number): void {
  const sql = MIGRATIONS.find((m) => m.version === version)!.sql;
  for (const [, name] of sql.matchAll(/^CREATE INDEX (\w+)/gm)) db.run(`DROP INDEX ${name}`);
}
