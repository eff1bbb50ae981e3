// Opening the broker's database for `serve` and `serve --check`: what the migrations did (said in
// the log and in the check's report, never silently), and SQLite's quick_check, which finds a
// damaged page that a start would not read (a running broker would meet it only as a failing
// write or a lost history page).
import { statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { BrokerConfig } from "../config/load.ts";
import type { Log } from "../log/log.ts";
import type { CheckpointerReport } from "../store/sqlite/checkpoint-protocol.ts";
import type { MigrateResult } from "../store/sqlite/migrate.ts";
import { DEFAULT_DB_FILE, type SqliteStore } from "../store/sqlite/store.ts";
import { RESTORE_BACKUP } from "../store/sqlite/db-errors.ts";
import { giveDataDirToOwner } from "./data-dir-owner.ts";

/** What opening the database changed: null when nothing was migrated. `from` 0 is a database
 *  created just now; otherwise `backup` is the copy taken first (null when the database held no
 *  data, which is never copied). */
export type Migration = { from: number; to: number; backup: string | null } | null;

function migrationOf(r: MigrateResult): Migration {
  if (r.applied.length === 0) return null;
  return { from: Math.min(...r.applied) - 1, to: Math.max(...r.applied), backup: r.backupPath && resolve(r.backupPath) };
}

/** "migrated from schema 3 to 4; the previous database is saved at …", or null for no migration
 *  and a new database (which has no previous one). */
export function migrationSentence(m: Migration): string | null {
  if (!m || m.from === 0) return null;
  return `migrated from schema ${m.from} to ${m.to}; ${m.backup ? `the previous database is saved at ${m.backup}` : "it held no data, so no copy was taken"}`;
}

/** Largest database whose quick_check `serve` runs before it listens. Measured on a 100,000-message
 *  database (108 MB): 90 ms with the file in the page cache, 1.6 s from a cold cache (SSD); a
 *  database past 1 GiB would hold a restart for seconds, so it is left to `serve --check`. */
export const START_CHECK_MAX_BYTES = 1 << 30;

/** The sentence for a database quick_check finds damaged. */
export const damaged = (dataDir: string, findings: string) =>
  `the database in ${dataDir} is damaged (SQLite quick_check: ${findings.replace(/\s+/g, " ").slice(0, 300)}); ${RESTORE_BACKUP}`;

/** quick_check of the open store: "ok" or its findings (a check that cannot run says why). */
function quickCheck(store: SqliteStore): string {
  try {
    return store.quickCheck();
  } catch (err) {
    return (err as Error).message;
  }
}

/** Opens the store for `serve`: logs a migration, then runs quick_check when the file is at most
 *  START_CHECK_MAX_BYTES (a larger one logs that it was not checked). Throws (the store closed) an
 *  Error saying the database is damaged, and what openSqliteStore throws. */
export async function openForServe(config: BrokerConfig, log: Log, onCheckpointReport: (r: CheckpointerReport) => void): Promise<SqliteStore> {
  const { openSqliteStore } = await import("../store/sqlite/store.ts");
  let migration: Migration = null;
  const store = await openSqliteStore({ dataDir: config.dataDir, synchronous: config.synchronous, checkpoints: "background", onCheckpointReport, onMigrated: (r) => (migration = migrationOf(r)) });
  const said = migrationSentence(migration);
  if (said) log.info("database migrated", { from: migration!.from, to: migration!.to, backup: migration!.backup, detail: said });
  const bytes = statSync(join(config.dataDir, DEFAULT_DB_FILE)).size;
  if (bytes > START_CHECK_MAX_BYTES) {
    log.info("quick_check skipped at start: the database is larger than 1 GiB; run claudemesh serve --check to check it", { bytes });
    return store;
  }
  const findings = quickCheck(store);
  if (findings === "ok") return store;
  store.close();
  throw new Error(damaged(config.dataDir, findings));
}

export type CheckedStore = { writable: boolean; schemaVersion: number; integrity: string; migration: Migration };

/** For `serve --check`: opens (and migrates) the database, probes a write, runs quick_check and
 *  closes it. Run as root on another user's data directory, gives that user what it made there
 *  (owner.ts), even when it fails. Throws what openSqliteStore throws. */
export async function checkStore(config: BrokerConfig): Promise<CheckedStore> {
  const { openSqliteStore } = await import("../store/sqlite/store.ts");
  let migration: Migration = null;
  try {
    const store = await openSqliteStore({ dataDir: config.dataDir, synchronous: config.synchronous, onMigrated: (r) => (migration = migrationOf(r)) });
    try {
      // Now, not only at the end: a check killed midway must not leave root's -wal and -shm.
      giveDataDirToOwner(config.dataDir);
      // A damaged page can leave the file openable and writable while the rows it held fail.
      return { ...(await store.health()), integrity: quickCheck(store), migration };
    } finally {
      store.close();
    }
  } finally {
    giveDataDirToOwner(config.dataDir);
  }
}
