// The health probe of the readiness endpoint. (Backups are data-file.ts snapshotFile.)
import { Database } from "bun:sqlite";
import { LATEST_VERSION } from "../migrations.ts";
import type { Health } from "../types.ts";

/** Probes with a real, committed write and reads the applied schema version. The write runs
 *  through `attempt` (the store's LockWatch, so that it waits for another process's lock no longer
 *  than any write does). Never throws: a failure is reported in `error` (and `writable` false if
 *  the write was what failed). */
export function probeHealth(db: Database, attempt: (write: () => void) => void = (write) => write()): Health {
  let writable = false;
  let schemaVersion = 0;
  try {
    // Read first: a locked or read-only database still reports its schema.
    schemaVersion = db.query<{ v: number | null }, []>("SELECT MAX(version) AS v FROM schema_migrations").get()!.v ?? 0;
    attempt(() => db.query("INSERT OR REPLACE INTO broker_meta (key, value) VALUES ('health_probe', ?)").run(String(Date.now())));
    writable = true;
    return { writable, schemaVersion, expectedVersion: LATEST_VERSION, error: null };
  } catch (e) {
    return { writable, schemaVersion, expectedVersion: LATEST_VERSION, error: e instanceof Error ? e.message : String(e) };
  }
}
