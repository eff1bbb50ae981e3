// Opening the broker's database for `serve` and `serve --check`: what the migrations did (said in
// the log and in the check's report, never silently); SQLite's quick_check, which finds a damaged
// page that a start would not read (a running broker would meet it only as a failing write or a
// lost history page); and every mesh's audit chain, which finds what quick_check cannot: rows
// whose bytes changed inside sound pages (SQLite keeps no checksum of them), or history edited
// outside the broker. A broker must not serve such history to members as if it held.
import { statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { BrokerConfig } from "../config/load.ts";
import type { Log } from "../log/log.ts";
import type { CheckpointerReport } from "../store/sqlite/checkpoint-protocol.ts";
import type { MigrateResult } from "../store/sqlite/migrate.ts";
import type { SqliteStore } from "../store/sqlite/store.ts";
import { DEFAULT_DB_FILE } from "../store/sqlite/open-store.ts";
import { securityFacts, securityIndexCheck } from "../store/sqlite/audit-tables.ts";
import { dataDirCommand } from "../config/command-line.ts";
import { giveDataDirToOwner } from "./data-dir-owner.ts";
import { DamagedDatabaseError, restoreBackup } from "./damaged-fix.ts";
import { chainBreak, verifyEveryChain, type ChainsCheck } from "./audit-verifier.ts";

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

/** Most audit entries `serve` verifies before it listens. Measured here through the store: 200,000
 *  entries in 1.1–1.3 s, 1,000,000 in about 6 s (docs/decisions.md). Past it the chains are left
 *  to `serve --check`, and to members' `claudemesh audit verify`. */
export const START_CHAIN_CHECK_MAX_ENTRIES = 200_000;

/** The sentence for a database found damaged (by quick_check, unless `foundBy` says what). */
export const damaged = (dataDir: string, findings: string, foundBy = "SQLite quick_check") =>
  `the database in ${dataDir} is damaged (${foundBy}: ${findings.replace(/\s+/g, " ").slice(0, 300)}); ${restoreBackup(dataDir)}`;

/** The sentence for a database whose audit chain does not verify, or whose tables disagree with
 *  a chain that does. */
export const brokenChain = (dataDir: string, broken: NonNullable<ChainsCheck["broken"]>) =>
  `${chainBreak(broken, ` in ${dataDir}`)}: the database is damaged or was changed outside the broker, and ${broken.mismatch ? "the broker would act on what the table says" : "members would be served that history"}; ${restoreBackup(dataDir)}`;

/** `read` of the audit chains; a database too damaged to read them is a finding. */
async function readingChains<T>(dataDir: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    throw new DamagedDatabaseError(damaged(dataDir, (err as Error).message, "reading its audit chains"));
  }
}

/** Every chain in `sizes` (chainSizes) verified and replayed against the tables it determines
 *  (audit-verifier.ts), once those tables agree with their indexes (audit-tables.ts); an index
 *  that does not throws the damaged-database Error. */
async function verifyChains(store: SqliteStore, dataDir: string, sizes: ReadonlyMap<string, number>): Promise<ChainsCheck> {
  const indexes = await readingChains(dataDir, async () => securityIndexCheck(store.db));
  if (indexes !== "ok") throw new DamagedDatabaseError(damaged(dataDir, indexes, "SQLite integrity_check"));
  return readingChains(dataDir, () => verifyEveryChain(store, securityFacts(store.db), sizes));
}

/** Entries in each mesh's audit chain, read once for both the start's limit and the walk. */
const chainSizes = (store: SqliteStore, dataDir: string) => readingChains(dataDir, () => store.auditSizes());

/** quick_check of the open store: "ok" or its findings (a check that cannot run says why). */
function quickCheck(store: SqliteStore): string {
  try {
    return store.quickCheck();
  } catch (err) {
    return (err as Error).message;
  }
}

/** Opens the store for `serve`: logs a migration, then runs quick_check when the file is at most
 *  START_CHECK_MAX_BYTES and verifies every audit chain when they hold at most
 *  START_CHAIN_CHECK_MAX_ENTRIES (a check skipped is logged). Throws (the store closed) a
 *  DamagedDatabaseError saying the database is damaged or which chain does not verify, and what
 *  openSqliteStore throws. */
export async function openForServe(config: BrokerConfig, log: Log, onCheckpointReport: (r: CheckpointerReport) => void): Promise<SqliteStore> {
  const { openSqliteStore } = await import("../store/sqlite/open-store.ts");
  let migration: Migration = null;
  const store = await openSqliteStore({ dataDir: config.dataDir, synchronous: config.synchronous, checkpoints: "background", onCheckpointReport, onMigrated: (r) => (migration = migrationOf(r)) });
  const said = migrationSentence(migration);
  if (said) log.info("database migrated", { from: migration!.from, to: migration!.to, backup: migration!.backup, detail: said });
  // What a check skipped here tells the operator to run instead.
  const check = dataDirCommand(["serve", "--check"], config.dataDir);
  try {
    const bytes = statSync(join(config.dataDir, DEFAULT_DB_FILE)).size;
    if (bytes > START_CHECK_MAX_BYTES) log.info(`quick_check skipped at start: the database is larger than 1 GiB; run ${check} to check it`, { bytes });
    else {
      const findings = quickCheck(store);
      if (findings !== "ok") throw new DamagedDatabaseError(damaged(config.dataDir, findings));
    }
    const sizes = await chainSizes(store, config.dataDir);
    const entries = [...sizes.values()].reduce((a, b) => a + b, 0);
    if (entries > START_CHAIN_CHECK_MAX_ENTRIES) {
      log.info(`audit chain verification skipped at start: the chains hold more than ${START_CHAIN_CHECK_MAX_ENTRIES} entries; run ${check} to verify them`, { entries });
      return store;
    }
    const { broken } = await verifyChains(store, config.dataDir, sizes);
    if (broken) throw new DamagedDatabaseError(brokenChain(config.dataDir, broken));
    return store;
  } catch (err) {
    store.close();
    throw err;
  }
}

export type CheckedStore = { writable: boolean; schemaVersion: number; integrity: string; chains: ChainsCheck | null; migration: Migration };

/** For `serve --check`: opens (and migrates) the database, probes a write, runs quick_check,
 *  verifies every audit chain however long (`chains` null when quick_check found damage) and
 *  closes it. Run as root on another user's data directory, gives that user what it made there
 *  (owner.ts), even when it fails. Throws what openSqliteStore throws. */
export async function checkStore(config: BrokerConfig): Promise<CheckedStore> {
  const { openSqliteStore } = await import("../store/sqlite/open-store.ts");
  let migration: Migration = null;
  try {
    const store = await openSqliteStore({ dataDir: config.dataDir, synchronous: config.synchronous, onMigrated: (r) => (migration = migrationOf(r)) });
    try {
      // Now, not only at the end: a check killed midway must not leave root's -wal and -shm.
      giveDataDirToOwner(config.dataDir);
      // A damaged page can leave the file openable and writable while the rows it held fail.
      const health = await store.health();
      const integrity = quickCheck(store);
      const chains = integrity === "ok" ? await verifyChains(store, config.dataDir, await chainSizes(store, config.dataDir)) : null;
      return { ...health, integrity, chains, migration };
    } finally {
      store.close();
    }
  } finally {
    giveDataDirToOwner(config.dataDir);
  }
}
