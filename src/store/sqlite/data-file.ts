// Maintenance on a database *file*, for `claudemesh admin backup|restore`: these open the file
// directly and never migrate it, add an epoch or load its queue (openSqliteStore does all three,
// which must not happen behind a running broker's back).
import { Database } from "bun:sqlite";
import { closeSync, fsyncSync, linkSync, lstatSync, openSync, renameSync, rmSync } from "node:fs";
import { LATEST_VERSION } from "../migrations.ts";
import { isDamaged } from "./db-errors.ts";
import type { Store } from "../types.ts";
import { securityFacts, type SecurityFacts } from "./audit-tables.ts";
import { AuditRepo } from "./audit-repo.ts";

/** What a database file holds, read without changing it (its soundness is snapshotFile's check). */
export type FileInfo = {
  /** Highest applied migration (0 when none). */
  schemaVersion: number;
  /** The highest version this binary can open. */
  knownVersion: number;
  epoch: string | null;
  meshes: number;
  messages: number;
};

/** Which file a failure is about: the database read from, the copy being written, a copy written
 *  whole that failed integrity_check (kept as `<outPath>.partial`; the message is SQLite's
 *  findings), or "taken": `outPath` or its
 *  .partial is another's (a copy to the same name, a user's file), never overwritten. */
export type DataFileSide = "source" | "copy" | "check" | "taken";

export class DataFileError extends Error {
  override readonly name = "DataFileError";
  readonly side: DataFileSide;
  constructor(message: string, options: ErrorOptions & { side?: DataFileSide } = {}) {
    super(message, options);
    this.side = options.side ?? "source";
  }
}

const said = (cause: unknown) => (cause as Error)?.message ?? String(cause);

/** A consistent copy of the database `dbPath` of a running broker into `outPath` by VACUUM INTO,
 *  0600 from the first byte, then integrity-checked and, when given, put through `check`. The copy
 *  holds everything committed, what the source's -wal holds included: it is read through a second
 *  connection (WAL lets the broker go on meanwhile). The copy is written as
 *  `<outPath>.partial` and moved to `outPath` when sound: a failure (a full disk) leaves nothing
 *  under `outPath`; a copy that fails integrity_check or `check` stays as .partial, for inspection.
 *  `outPath` is never replaced: a file there (another copy to that name, a user's file), even one
 *  made while `check` ran, is a DataFileError "taken" (the sound copy removed); so is a
 *  `<outPath>.partial` there before the copy starts. Throws what `check` throws, as it is; otherwise DataFileError whose `side` says which
 *  file failed and whose cause is SQLite's or the file system's error. */
export async function snapshotFile(dbPath: string, outPath: string, check?: (copy: string) => Promise<void>, link: LinkFile = linkSync): Promise<void> {
  const partial = writeCopy(dbPath, outPath);
  // After the source is closed: a long check holds nothing of a serving broker's database.
  if (check) await check(partial);
  let placed: boolean;
  try {
    placed = placeCopy(partial, outPath, link);
  } catch (cause) {
    throw new DataFileError(`cannot write ${outPath}: ${said(cause)}`, { cause, side: "copy" });
  }
  if (!placed) {
    rmSync(partial, { force: true });
    throw new DataFileError(`${outPath} appeared while the copy was being checked; a copy never overwrites.`, { side: "taken" });
  }
}

/** link(2), as snapshotFile places a copy with it: a parameter so that a test can be a file system
 *  without hard links (none is mounted where the tests run). */
export type LinkFile = (existing: string, newPath: string) => void;

/** link(2) errors of a file system that has no hard links (vfat, some network shares). */
const NO_HARD_LINKS = new Set(["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS"]);

/** Moves `partial` to `outPath`; false, nothing moved, when a file is there. A hard link refuses a
 *  taken name where a rename would replace it, whatever was made there during the copy's check. */
function placeCopy(partial: string, outPath: string, link: LinkFile): boolean {
  try {
    link(partial, outPath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "";
    if (code === "EEXIST") return false;
    if (!NO_HARD_LINKS.has(code)) throw err;
    // No hard links here: look just before the rename, a window of a moment instead of the check's.
    // lstat: a link, even to nothing, is taken too (the rename would replace the link).
    if (lstatSync(outPath, { throwIfNoEntry: false })) return false;
    renameSync(partial, outPath);
    return true;
  }
  rmSync(partial);
  return true;
}

/** snapshotFile up to its `check`: the copy written and integrity-checked as `<outPath>.partial`,
 *  whose path it returns. */
function writeCopy(dbPath: string, outPath: string): string {
  let db: Database | null = null;
  try {
    db = new Database(dbPath, { create: false, readwrite: true, strict: true });
    // The broker may hold the write lock for a group commit; wait for it like the broker does.
    db.run("PRAGMA busy_timeout = 5000");
    // Read once before copying: a source that cannot be read (no room for its -shm, a read-only
    // directory, a damaged first page, a lock held too long) is the source's failure, not the copy's.
    db.query("SELECT COUNT(*) FROM sqlite_master").get();
  } catch (cause) {
    db?.close();
    throw new DataFileError(`cannot read ${dbPath}: ${said(cause)}`, { cause, side: "source" });
  }
  const partial = `${outPath}.partial`;
  try {
    // VACUUM INTO accepts an existing *empty* file: creating it 0600 first makes the copy private
    // from the start instead of umask-readable. "wx": never overwrite.
    try {
      closeSync(openSync(partial, "wx", 0o600));
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== "EEXIST") throw cause;
      throw new DataFileError(`${partial} appeared meanwhile: another copy to ${outPath} is being written.`, { cause, side: "taken" });
    }
    try {
      db.run("VACUUM INTO ?", [partial]);
    } catch (cause) {
      for (const f of [partial, `${partial}-journal`]) rmSync(f, { force: true });
      // A damaged page VACUUM INTO meets while it reads is the source's fault, not the copy's.
      if (isDamaged(cause)) throw new DataFileError(`cannot read ${dbPath}: ${said(cause)}`, { cause, side: "source" });
      throw new DataFileError(`cannot write ${outPath}: ${said(cause)}`, { cause, side: "copy" });
    }
    checkIntegrity(partial);
    return partial;
  } catch (cause) {
    if (cause instanceof DataFileError) throw cause;
    throw new DataFileError(`cannot write ${outPath}: ${said(cause)}`, { cause, side: "copy" });
  } finally {
    db.close();
  }
}

/** What verifying a database file's audit chains reads (audit-verifier.ts verifyEveryChain), and
 *  the membership tables its replay compares them with. */
export type FileChains = Pick<Store, "listAudit" | "auditSizes"> & { facts(): Map<string, SecurityFacts>; close(): void };

/** The audit chains and meshes of the database file `path`, read through a read-only connection
 *  (never migrated: the tables read are the same in every schema version); close it when done.
 *  Its reads throw SQLite's error for a file whose chains cannot be read (no audit_log table, a
 *  damaged page); opening throws DataFileError. */
export function openFileChains(path: string): FileChains {
  const db = openReadOnly(path);
  const audit = new AuditRepo(db);
  return {
    listAudit: async (meshId, afterSeq, limit) => audit.list(meshId, afterSeq, limit),
    auditSizes: async () => audit.sizes(),
    facts: () => securityFacts(db),
    close: () => db.close(),
  };
}

/** "ok", or SQLite's integrity_check findings joined with "; ". */
const integrityOf = (db: Database) =>
  db
    .query<{ integrity_check: string }, []>("PRAGMA integrity_check")
    .all()
    .map((r) => r.integrity_check)
    .join("; ");

/** Runs SQLite's integrity_check on the database file `path` through a read-only connection.
 *  Throws DataFileError, side "check", whose message is its findings (or why it could not run). */
export function checkIntegrity(path: string): void {
  let findings: string;
  try {
    findings = readOnly(path, integrityOf);
  } catch (cause) {
    throw new DataFileError(said(cause), { cause, side: "check" });
  }
  if (findings !== "ok") throw new DataFileError(findings, { side: "check" });
}

/** A read-only connection to the database file `path`; DataFileError when it cannot be opened. */
function openReadOnly(path: string): Database {
  try {
    return new Database(path, { readonly: true, strict: true });
  } catch (cause) {
    throw new DataFileError(`cannot open ${path}: ${said(cause)}`, { cause });
  }
}

/** `read` of the database file `path` through a read-only connection, closed after. */
function readOnly<T>(path: string, read: (db: Database) => T): T {
  const db = openReadOnly(path);
  try {
    return read(db);
  } finally {
    db.close();
  }
}

/** `read` of the claudemesh database file `path`, given its table names. Throws DataFileError,
 *  naming the file `shownAs` (a copy's messages name the file it was copied from), when it is not
 *  a SQLite file or not a claudemesh database. */
function readDatabaseFile<T>(path: string, shownAs: string, read: (db: Database, tables: Set<string>) => T): T {
  return readOnly(path, (db) => {
    try {
      const tables = new Set(db.query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((r) => r.name));
      if (!tables.has("schema_migrations") || !tables.has("broker_meta")) throw new DataFileError(`${shownAs} is a SQLite file but not a claudemesh database (no schema_migrations/broker_meta tables).`);
      return read(db, tables);
    } catch (cause) {
      if (cause instanceof DataFileError) throw cause;
      throw new DataFileError(`${shownAs} cannot be read as a database: ${said(cause)}`, { cause });
    }
  });
}

/** Throws DataFileError (naming it `shownAs`) unless `path` opens as a claudemesh database: a
 *  cheap look (its first pages), not a check of its contents. */
export function checkDatabaseFile(path: string, shownAs = path): void {
  readDatabaseFile(path, shownAs, () => undefined);
}

/** Reads schema version, epoch and row counts of a database file, read-only. Throws
 *  DataFileError (naming it `shownAs`) when it is not a SQLite file or not a claudemesh database. */
export function inspectFile(path: string, shownAs = path): FileInfo {
  return readDatabaseFile(path, shownAs, (db, tables) => {
    const count = (table: string) => (tables.has(table) ? db.query<{ n: number }, []>(`SELECT COUNT(*) AS n FROM ${table}`).get()!.n : 0);
    return {
      schemaVersion: db.query<{ v: number | null }, []>("SELECT MAX(version) AS v FROM schema_migrations").get()!.v ?? 0,
      knownVersion: LATEST_VERSION,
      epoch: fileMetaOf(db, "epoch"),
      meshes: count("meshes"),
      messages: count("messages"),
    };
  });
}

const fileMetaOf = (db: Database, key: string) => db.query<{ value: string }, [string]>("SELECT value FROM broker_meta WHERE key = ?").get(key)?.value ?? null;

/** One broker_meta row of the database file `path` (null when there is none), read-only. Throws
 *  DataFileError when it cannot be opened, SQLite's error when it cannot be read. */
export const fileMeta = (path: string, key: string): string | null => readOnly(path, (db) => fileMetaOf(db, key));

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
