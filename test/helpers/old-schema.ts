// A broker database as an older claudemesh left it: migrated only up to `version`, holding one mesh
// (so that a newer binary backs it up before migrating), closed cleanly (no -wal or -shm).
import { join } from "node:path";
import { MIGRATIONS } from "../../src/store/migrations.ts";
import { migrate } from "../../src/store/sqlite/migrate.ts";
import { openDatabase } from "../../src/store/sqlite/open.ts";

export function oldSchemaDatabase(dataDir: string, version = 3): string {
  const path = join(dataDir, "claudemesh.db");
  const db = openDatabase(path, { synchronous: "normal" });
  migrate(db, MIGRATIONS.filter((m) => m.version <= version), null);
  db.run("INSERT INTO meshes (id, slug, name, owner_pubkey, created_at) VALUES ('mesh1', 'team', 'Team', 'ownerkey', 0)");
  db.close();
  return path;
}
