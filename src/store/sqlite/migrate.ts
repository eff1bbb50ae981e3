// Applies embedded migrations at start, each in its own transaction, recording version, name and
// SHA-256 checksum. Refuses a database written by a newer claudemesh or whose applied migrations
// were edited. Before applying anything to a database that already has data, it writes a backup.
import type { Database } from "bun:sqlite";
import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Migration } from "../migrations.ts";

export class MigrationError extends Error {
  override readonly name = "MigrationError";
}

const checksum = (sql: string) => createHash("sha256").update(sql).digest("hex");

export type MigrateResult = { applied: number[]; backupPath: string | null };

export function migrate(db: Database, migrations: readonly Migration[], backupDir: string | null): MigrateResult {
  const latest = migrations[migrations.length - 1]?.version ?? 0;
  db.run(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`);
  const rows = db.query<{ version: number; name: string; checksum: string }, []>("SELECT version, name, checksum FROM schema_migrations ORDER BY version").all();
  const known = new Map(migrations.map((m) => [m.version, m]));
  for (const row of rows) {
    const m = known.get(row.version);
    if (!m) {
      throw new MigrationError(
        `This database was written by a newer claudemesh (schema version ${row.version}; this binary knows up to ${latest}). ` +
          `Upgrade claudemesh, or restore a backup made by this version.`,
      );
    }
    if (m.name !== row.name || checksum(m.sql) !== row.checksum) {
      throw new MigrationError(`Migration ${row.version} (${row.name}) differs from the one applied to this database; refusing to start.`);
    }
  }
  const done = new Set(rows.map((r) => r.version));
  const pending = migrations.filter((m) => !done.has(m.version));
  let backupPath: string | null = null;
  if (pending.length > 0 && rows.length > 0 && backupDir) {
    mkdirSync(backupDir, { recursive: true, mode: 0o700 });
    backupPath = join(backupDir, `pre-migrate-v${rows[rows.length - 1]!.version}-${Date.now()}.db`);
    db.run("VACUUM INTO ?", [backupPath]);
  }
  const record = db.query("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)");
  for (const m of pending) {
    db.transaction(() => {
      db.run(m.sql);
      record.run(m.version, m.name, checksum(m.sql), Date.now());
    })();
  }
  db.run(`PRAGMA user_version = ${latest}`);
  return { applied: pending.map((m) => m.version), backupPath };
}
