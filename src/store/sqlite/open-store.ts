// Opening the broker's database: the file, its migrations, its epoch, the off-thread WAL flush for
// synchronous "full", and the in-memory queue index, handed to the SqliteStore (store.ts).
import { dirname, join } from "node:path";
import { randomId } from "../../crypto/hash.ts";
import { MIGRATIONS } from "../migrations.ts";
import type { CheckpointerReport } from "./checkpoint-protocol.ts";
import { syncPath } from "./data-file.ts";
import { migrate, refuseNewer, type MigrateResult } from "./migrate.ts";
import { openDatabase, type Synchronous } from "./open.ts";
import { QueueIndex } from "./queue-index.ts";
import { SqliteStore } from "./store.ts";
import { WalSync } from "./wal-sync.ts";

export const DEFAULT_DB_FILE = "claudemesh.db";

export type SqliteStoreOptions = {
  dataDir: string;
  synchronous: Synchronous;
  fileName?: string;
  /** "background": a worker thread checkpoints the WAL (checkpointer.ts), for the long-running
   *  broker. "inline" (default): SQLite checkpoints inside commits, for short-lived tools. */
  checkpoints?: "background" | "inline";
  /** Hears background checkpoints' troubles, for the log; a disk error also fails the store stop. */
  onCheckpointReport?: (report: CheckpointerReport) => void;
  /** The checkpointer thread's entrypoint, relative to src/ (tests only). */
  checkpointWorker?: string;
  /** Hears what the migrations did (the versions applied, the backup taken first), before the
   *  store is returned; for serve's log and serve --check's report. */
  onMigrated?: (result: MigrateResult) => void;
};

/** Opens (creating if needed) `<dataDir>/<fileName>`, applies pending migrations (backing up a
 *  non-empty database first, into `<dataDir>/backups`), gives a new database its epoch and builds the
 *  in-memory queue index from the tables. Throws MigrationError for a database from a newer
 *  claudemesh or with edited migrations, and SQLiteError if the file cannot be opened. */
export async function openSqliteStore(opts: SqliteStoreOptions): Promise<SqliteStore> {
  const path = join(opts.dataDir, opts.fileName ?? DEFAULT_DB_FILE);
  // "full" durability is SQLite's NORMAL plus our own off-thread WAL flush before every answer.
  refuseNewer(path, MIGRATIONS);
  const db = openDatabase(path, { synchronous: "normal" });
  let wal: WalSync | null = null;
  try {
    const migrated = migrate(db, MIGRATIONS, join(opts.dataDir, "backups"));
    opts.onMigrated?.(migrated);
    db.query("INSERT OR IGNORE INTO broker_meta (key, value) VALUES ('epoch', ?)").run(randomId());
    const epoch = db.query<{ value: string }, []>("SELECT value FROM broker_meta WHERE key = 'epoch'").get()!.value;
    if (opts.synchronous === "full") {
      wal = new WalSync(path);
      await wal.sync(); // the migration and the epoch, before anything relies on them
      // The WAL's name in its directory, which SQLite syncs when it creates the file but ignores
      // the outcome of: flushing a WAL a power loss can unlink makes nothing durable.
      syncPath(dirname(wal.file));
    }
    const store = new SqliteStore(db, epoch, QueueIndex.load(db), wal);
    // Last: nothing after it may throw, or the thread would keep its connection open.
    if (opts.checkpoints === "background") store.startCheckpointer(path, opts.onCheckpointReport ?? (() => {}), opts.checkpointWorker);
    return store;
  } catch (e) {
    wal?.close();
    db.close();
    throw e;
  }
}
