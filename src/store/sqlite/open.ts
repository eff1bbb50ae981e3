// Opens the broker's SQLite file with the settings every connection needs. The file holds routing
// metadata (no secrets), but it is still private to the broker's user: directory 0700, file 0600.
import { Database } from "bun:sqlite";
import { chmodSync, closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";

export type Synchronous = "full" | "normal";

/** WAL journal, 5 s busy timeout, foreign keys on, `synchronous` as given ("full" survives power
 *  loss with every commit; "normal" may lose the last commits but never corrupts). Creates the
 *  parent directory (0700) and the file (0600) when missing. Throws if the file cannot be opened. */
export function openDatabase(path: string, opts: { synchronous: Synchronous }): Database {
  if (path !== ":memory:") {
    const created = mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // mkdir's mode is filtered by the umask; set it exactly on what we created, never on a
    // directory the operator chose and made.
    if (created !== undefined) chmodSync(dirname(path), 0o700);
    // Create the file 0600 before SQLite does, so it is never readable by others, not even briefly.
    closeSync(openSync(path, "a", 0o600));
    chmodSync(path, 0o600);
  }
  const db = new Database(path, { create: true, strict: true });
  try {
    // busy_timeout first: switching to WAL needs a lock another process may hold for a moment.
    db.run("PRAGMA busy_timeout = 5000");
    db.run("PRAGMA journal_mode = WAL");
    db.run("PRAGMA foreign_keys = ON");
    db.run(`PRAGMA synchronous = ${opts.synchronous === "full" ? "FULL" : "NORMAL"}`);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}
