// The replay memory (signature-repo.ts: seen_signatures, the forgotten spans and the floor) of a
// database *file*, for `admin restore`: a backup holds the memory of the time it was taken, so a
// signature the broker accepted since would pass again on the restored database within its window
// (protocol.md §2.5). The restore reads the memory of the database it replaces and joins it into
// the copy it installs; when there is none to read, it sets the floor instead. Like data-file.ts,
// these open the file directly and never migrate it (the tables read are in every schema version).
import { Database } from "bun:sqlite";
import { addSpan, parseSpans, type Span } from "./forgotten-spans.ts";
import { FORGOTTEN_BEFORE_KEY, FORGOTTEN_KEY, parseFloor } from "./signature-repo.ts";
import { writeTx } from "./transaction.ts";

/** What a database remembers against replay. */
export type ReplayMemory = { signatures: { signature: string; expiresAt: number }[]; spans: Span[]; floor: number | null };

const meta = (db: Database, key: string) => db.query<{ value: string }, [string]>("SELECT value FROM broker_meta WHERE key = ?").get(key)?.value ?? null;

/** The replay memory of the database file `path`, read through a read-only connection. Throws
 *  SQLite's error for a file that cannot be opened or read (not a database, a damaged page, no such
 *  table) and an Error for a stored span list or floor that does not parse. */
export function readReplayMemory(path: string): ReplayMemory {
  const db = new Database(path, { readonly: true, strict: true });
  try {
    const signatures = db.query<{ signature: string; expiresAt: number }, []>("SELECT signature, expires_at AS expiresAt FROM seen_signatures").all();
    return { signatures, spans: parseSpans(meta(db, FORGOTTEN_KEY)), floor: parseFloor(meta(db, FORGOTTEN_BEFORE_KEY)) };
  } finally {
    db.close();
  }
}

/** Joins `from` into the replay memory of the database file `path` (an existing claudemesh
 *  database no broker has open: a restore's staged copy), in one transaction: every signature of
 *  either is remembered (each until its own expiry, which the broker's sweep then turns into a span
 *  as usual), the spans of both are kept (addSpan at `nowMs`), and the later floor holds. With
 *  `from` null (the replaced database could not be read, or there was none), the floor becomes
 *  `nowMs`: whatever the broker accepted before it is unknown. Returns the floor then in force
 *  (null: none). Throws SQLite's error (a full disk), or an Error for a stored value of `path` that
 *  does not parse. */
export function carryReplayMemory(path: string, from: ReplayMemory | null, nowMs: number): number | null {
  const db = new Database(path, { create: false, readwrite: true, strict: true });
  try {
    db.run("PRAGMA busy_timeout = 5000");
    db.run("PRAGMA journal_mode = WAL");
    return writeTx(db, () => {
      const set = db.query("INSERT INTO broker_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
      const floors = [parseFloor(meta(db, FORGOTTEN_BEFORE_KEY)), from ? from.floor : nowMs].filter((f): f is number => f !== null);
      const floor = floors.length > 0 ? Math.max(...floors) : null;
      if (floor !== null) set.run(FORGOTTEN_BEFORE_KEY, String(floor));
      if (!from) return floor;
      const insert = db.query("INSERT OR IGNORE INTO seen_signatures (signature, expires_at) VALUES (?, ?)");
      for (const s of from.signatures) insert.run(s.signature, s.expiresAt);
      let spans = parseSpans(meta(db, FORGOTTEN_KEY));
      for (const s of from.spans) spans = addSpan(spans, s, nowMs);
      if (spans.length > 0) set.run(FORGOTTEN_KEY, JSON.stringify(spans));
      return floor;
    });
  } finally {
    db.close();
  }
}
