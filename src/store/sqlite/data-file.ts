// Maintenance on a database *file*, for `claudemesh admin backup|restore`: these open the file
// directly and never migrate it, add an epoch or load its queue (openSqliteStore does all three,
// which must not happen behind a running broker's back).
import { Database } from "bun:sqlite";
import { closeSync, fsyncSync, openSync } from "node:fs";
import { LATEST_VERSION } from "../migrations.ts";
import { backupTo } from "./maintenance.ts";

/** What a database file holds, read without changing it. */
export type FileInfo = {
  /** "ok", or SQLite's integrity_check findings joined with "; ". */
  integrity: string;
  /** Highest applied migration (0 when none). */
  schemaVersion: number;
  /** The highest version this binary can open. */
  knownVersion: number;
  epoch: string | null;
  meshes: number;
  messages: number;
};

export class DataFileError extends Error {
  override readonly name = "DataFileError";
}

/** Online, consistent copy of the live database `dbPath` into `outPath` (VACUUM INTO through a
 *  second connection; WAL lets the broker keep reading and writing meanwhile), 0600 from the
 *  first byte, then integrity-checked. `outPath` must not exist. Throws DataFileError when
 *  `dbPath` is missing or the copy fails its check (the bad copy is left for inspection). */
export function snapshotFile(dbPath: string, outPath: string): void {
  let db: Database;
  try {
    db = new Database(dbPath, { create: false, readwrite: true, strict: true });
  } catch (cause) {
    throw new DataFileError(`cannot open ${dbPath}: ${(cause as Error).message}`, { cause });
  }
  try {
    // The broker may hold the write lock for a group commit; wait for it like the broker does.
    db.run("PRAGMA busy_timeout = 5000");
    // VACUUM INTO accepts an existing *empty* file: creating it first makes the copy private
    // from the start instead of umask-readable until backupTo's chmod. "wx": never overwrite.
    closeSync(openSync(outPath, "wx", 0o600));
    backupTo(db, outPath);
  } catch (cause) {
    if (cause instanceof DataFileError) throw cause;
    throw new DataFileError((cause as Error).message, { cause });
  } finally {
    db.close();
  }
}

/** Reads integrity, schema version, epoch and row counts of a database file, read-only. Throws
 *  DataFileError when it is not a SQLite file or not a claudemesh database. */
export function inspectFile(path: string): FileInfo {
  let db: Database;
  try {
    db = new Database(path, { readonly: true, strict: true });
  } catch (cause) {
    throw new DataFileError(`cannot open ${path}: ${(cause as Error).message}`, { cause });
  }
  try {
    const integrity = db
      .query<{ integrity_check: string }, []>("PRAGMA integrity_check")
      .all()
      .map((r) => r.integrity_check)
      .join("; ");
    const tables = new Set(db.query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((r) => r.name));
    if (!tables.has("schema_migrations") || !tables.has("broker_meta")) throw new DataFileError(`${path} is a SQLite file but not a claudemesh database (no schema_migrations/broker_meta tables).`);
    const count = (table: string) => (tables.has(table) ? db.query<{ n: number }, []>(`SELECT COUNT(*) AS n FROM ${table}`).get()!.n : 0);
    return {
      integrity,
      schemaVersion: db.query<{ v: number | null }, []>("SELECT MAX(version) AS v FROM schema_migrations").get()!.v ?? 0,
      knownVersion: LATEST_VERSION,
      epoch: db.query<{ value: string }, []>("SELECT value FROM broker_meta WHERE key = 'epoch'").get()?.value ?? null,
      meshes: count("meshes"),
      messages: count("messages"),
    };
  } catch (cause) {
    if (cause instanceof DataFileError) throw cause;
    throw new DataFileError(`${path} cannot be read as a database: ${(cause as Error).message}`, { cause });
  } finally {
    db.close();
  }
}

/** Sets one broker_meta row of an existing database file, in WAL mode like every broker database,
 *  without migrating it or loading its queue: safe beside a running broker (SQLite serialises the
 *  write; the broker reads such rows when it needs them). Throws if the file does not exist. */
export function setFileMeta(path: string, key: string, value: string): void {
  const db = new Database(path, { create: false, readwrite: true, strict: true });
  try {
    db.run("PRAGMA busy_timeout = 5000");
    db.run("PRAGMA journal_mode = WAL");
    db.query("INSERT INTO broker_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(key, value);
  } finally {
    db.close();
  }
}

/** fsync of a file or a directory (after a rename in it, so that the new name survives a power
 *  loss, not only its bytes). */
export function syncPath(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
