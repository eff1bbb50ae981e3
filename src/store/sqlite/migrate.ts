// Applies embedded migrations at start, each in its own transaction, recording version, name and
// SHA-256 checksum. Refuses a database written by a newer claudemesh or whose applied migrations
// were edited. Before applying anything to a database that already has data, it writes a backup.
import { Database } from "bun:sqlite";
import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Migration } from "../migrations.ts";
import { syncPath } from "./data-file.ts";
import { isDamaged } from "./db-errors.ts";
import { NotOurFileError, openOwnFile } from "./own-file.ts";

export class MigrationError extends Error {
  override readonly name = "MigrationError";
}

/** The copy taken before migrating could not be written (`file`; the file system's or SQLite's
 *  error is the cause). Nothing was migrated. A damaged database met while copying it is not this:
 *  migrate throws SQLite's error itself. */
export class MigrationBackupError extends MigrationError {
  constructor(
    readonly file: string,
    cause: unknown,
  ) {
    super(`cannot write the backup taken before migrating, ${file}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

const checksum = (sql: string) => createHash("sha256").update(sql).digest("hex");

export type MigrateResult = { applied: number[]; backupPath: string | null };

const newerMessage = (found: number, latest: number) =>
  `This database was written by a newer claudemesh (schema version ${found}; this binary knows up to ${latest}). ` +
  `Upgrade claudemesh, or restore a backup made by this version.`;

/** A database written by a newer claudemesh: schema version `found`, this binary knowing up to
 *  `latest` (refuseNewer). `serve` refuses it like any MigrationError; the admin commands word it
 *  as theirs (maintenance.ts existingDatabase). */
export class NewerSchemaError extends MigrationError {
  constructor(
    readonly found: number,
    readonly latest: number,
  ) {
    super(newerMessage(found, latest));
  }
}

/** An applied migration whose name or SQL is not this binary's (a build of other sources, an edit
 *  of schema_migrations): what to run instead, or which backups hold the database from before it,
 *  that this binary migrates with its own (the copies taken before migrating are named after the
 *  schema they hold). */
function differsMessage(row: { version: number; name: string }, backupDir: string | null): string {
  const copies = row.version > 1 && backupDir ? `: in ${backupDir}, a pre-migrate-v<N>-….db with N below ${row.version} is one` : "";
  return `Migration ${row.version} (${row.name}) differs from the one applied to this database; refusing to start. Run the claudemesh release that applied it, or restore a backup taken before it was applied${copies}.`;
}

/** Refuses (NewerSchemaError), before anything opens the file for writing, a database written by a
 *  newer claudemesh:
 *  opening it normally already changes it (the switch to WAL rewrites the header of a database in
 *  another journal mode). Reads only, and leaves the directory as it was: a read-only connection
 *  to a WAL database makes a -wal and a -shm that it never removes, so without a -wal it reads
 *  through a read-write connection (which sets nothing), whose close removes both; with a -wal
 *  (left by a crash) it reads read-only, since a read-write close would checkpoint it into the
 *  database. A missing or empty file passes. */
export function refuseNewer(path: string, migrations: readonly Migration[]): void {
  if (!existsSync(path) || statSync(path).size === 0) return;
  const latest = migrations[migrations.length - 1]?.version ?? 0;
  const db = new Database(path, existsSync(`${path}-wal`) ? { readonly: true } : { readwrite: true, create: false });
  try {
    const table = db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
    const found = table ? (db.query<{ v: number | null }, []>("SELECT MAX(version) AS v FROM schema_migrations").get()?.v ?? 0) : 0;
    if (found > latest) throw new NewerSchemaError(found, latest);
  } finally {
    db.close();
  }
}

/** Writes a consistent copy of `db` to `path`, all or nothing: created 0600 under a temporary
 *  name, flushed, then renamed, so a kill halfway leaves no file that looks like a backup. The
 *  temporary name is created, never opened: a link planted there (after the cleanup) is refused
 *  with NotOurFileError, and left with what it names as they are. */
function backupBeforeMigrating(db: Database, dir: string, path: string): void {
  // Half-written copies of a start killed while it made one: the data directory is locked
  // (dir-lock.ts), so no other process is writing one now.
  for (const f of readdirSync(dir)) if (/^pre-migrate-v\d+-\d+\.db\.partial(-journal)?$/.test(f)) rmSync(join(dir, f), { force: true });
  const partial = `${path}.partial`;
  // VACUUM INTO accepts an empty file, and keeps its mode. Never "w": that followed a link planted
  // at this name, emptied what it named and had the copy written into it.
  closeSync(openOwnFile(partial, { exclusive: true }));
  try {
    db.run("VACUUM INTO ?", [partial]);
    syncPath(partial);
    renameSync(partial, path);
    syncPath(dir);
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  }
}

export function migrate(db: Database, migrations: readonly Migration[], backupDir: string | null): MigrateResult {
  const latest = migrations[migrations.length - 1]?.version ?? 0;
  db.run(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`);
  const rows = db.query<{ version: number; name: string; checksum: string }, []>("SELECT version, name, checksum FROM schema_migrations ORDER BY version").all();
  const known = new Map(migrations.map((m) => [m.version, m]));
  for (const row of rows) {
    const m = known.get(row.version);
    if (!m) throw new MigrationError(newerMessage(row.version, latest));
    if (m.name !== row.name || checksum(m.sql) !== row.checksum) {
      throw new MigrationError(differsMessage(row, backupDir));
    }
  }
  const done = new Set(rows.map((r) => r.version));
  const pending = migrations.filter((m) => !done.has(m.version));
  let backupPath: string | null = null;
  if (pending.length > 0 && rows.length > 0 && backupDir) {
    backupPath = join(backupDir, `pre-migrate-v${rows[rows.length - 1]!.version}-${Date.now()}.db`);
    try {
      mkdirSync(backupDir, { recursive: true, mode: 0o700 });
      backupBeforeMigrating(db, backupDir, backupPath);
    } catch (err) {
      if (err instanceof NotOurFileError) throw err; // names the path; only an operator removes it
      // The copy reads every page, so it is the first to meet a damaged one: that is the database's
      // state, refused as any damaged database is (data-dir-errors.ts), not the copy's failure.
      if (isDamaged(err)) throw err;
      throw new MigrationBackupError(backupPath, err);
    }
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
