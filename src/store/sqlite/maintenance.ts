// Health probe and online backup, for the readiness endpoint and the `backup` command.
import { Database } from "bun:sqlite";
import { chmodSync } from "node:fs";
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

/** Writes a consistent copy to `path` (which must not exist, or be empty) with VACUUM INTO, makes
 *  it 0600 and checks it (verifyCopy). Throws if the copy cannot be written or is not sound. */
export function backupTo(db: Database, path: string): void {
  db.run("VACUUM INTO ?", [path]);
  chmodSync(path, 0o600);
  verifyCopy(path);
}

/** Throws unless the database file at `path` passes PRAGMA integrity_check. */
export function verifyCopy(path: string): void {
  const copy = new Database(path, { readonly: true, strict: true });
  try {
    const verdict = copy
      .query<{ integrity_check: string }, []>("PRAGMA integrity_check")
      .all()
      .map((r) => r.integrity_check)
      .join("; ");
    if (verdict !== "ok") throw new Error(`backup ${path} failed its integrity check: ${verdict}`);
  } finally {
    copy.close();
  }
}
