// Opens the broker's SQLite file with the settings every connection needs. The file holds routing
// metadata (no secrets), but it is still private to the broker's user: directory 0700, file 0600.
import { Database } from "bun:sqlite";
import { chmodSync, closeSync, constants, fchmodSync, fstatSync, mkdirSync, openSync, statSync, type Stats } from "node:fs";
import { dirname } from "node:path";
import { isDamaged } from "./db-errors.ts";
import { diskFault, diskFix, diskSaid } from "./disk-faults.ts";
import { dbPathProblem } from "./db-path-shape.ts";

export type Synchronous = "full" | "normal";

/** bun:sqlite keeps the statements of `db.query(sql)` prepared in a per-connection LRU of
 *  `Database.MAX_QUERY_CACHE_SIZE` entries, 20 by default. The store has ~100 distinct statements
 *  (writeTx's BEGIN and COMMIT among them), so under mixed traffic statements fell out and were
 *  prepared again at their next use, which costs more than most of them take to run. */
const QUERY_CACHE_SIZE = 256;
if (Database.MAX_QUERY_CACHE_SIZE < QUERY_CACHE_SIZE) Database.MAX_QUERY_CACHE_SIZE = QUERY_CACHE_SIZE;

/** serve's sentence for an error from the disk holding `dir` (disk-faults.ts), or null when `err`
 *  is not one. */
export function storageProblem(err: unknown, dir: string): string | null {
  const fault = diskFault(err, dir);
  return fault && `${diskSaid(fault, dir)}: ${diskFix(fault, "start again")}`;
}

/** A message an operator can act on for an error opening the database file `dbPath` itself: one
 *  this process may not open (another user's file, as a restore run as root leaves it), or one
 *  that is not a sound SQLite database (ending with `restore`, the broker's words for restoring a
 *  backup into that directory). Null for anything else. */
export function databaseProblem(err: unknown, dbPath: string, restore: string): string | null {
  const code = String((err as { code?: unknown } | null)?.code ?? "");
  // One line: SQLite quotes a damaged schema entry's CREATE statement, newlines and all.
  const said = (err as Error).message.replace(/\s+/g, " ");
  if (isDamaged(err)) return `${dbPath} is damaged or not a claudemesh database (${said}): ${restore}`;
  if (code !== "SQLITE_CANTOPEN" && code !== "EACCES" && code !== "EPERM") return null;
  const me = process.getuid?.();
  const found = [dbPath, dirname(dbPath)].map((path) => ({ path, st: statOrNull(path) })).find((f) => f.st !== null);
  const mode = found && (found.st!.mode & 0o777).toString(8).padStart(3, "0");
  // The broker's own file with a mode that shuts its owner out: another user would be the wrong
  // fix. (With the owner's access in place, another cause, such as a -wal file root left behind,
  // gets the owner facts and chown below.)
  const need = found?.path === dbPath ? 0o600 : 0o700;
  if (found && me !== undefined && me !== 0 && found.st!.uid === me && (found.st!.mode & need) !== need) {
    return `cannot open ${dbPath} (${said}): ${found.path} is this user's (uid ${me}), mode ${mode}. Give it back read and write access: chmod 600 ${dbPath}, chmod 700 ${dirname(dbPath)}.`;
  }
  const facts = [found && `${found.path} belongs to uid ${found.st!.uid}, mode ${mode}`, me === undefined ? null : `this process runs as uid ${me}`].filter(Boolean).join("; ");
  return `cannot open ${dbPath} (${said})${facts ? `: ${facts}` : ""}. Run the broker as the user that owns its data directory, or give that user the files (chown -R).`;
}

/** `err` itself, or an Error with storageProblem's message (and `err` as its cause). */
export function explainStorageError(err: unknown, dir: string): unknown {
  const message = storageProblem(err, dir);
  return message === null ? err : new Error(message, { cause: err });
}

/** How long opening and migrating wait for a lock another process holds. Nothing is served yet,
 *  so waiting costs no one; the store shortens it for serving (lock-watch.ts). */
export const OPEN_BUSY_TIMEOUT_MS = 5000;

/** WAL journal, OPEN_BUSY_TIMEOUT_MS busy timeout, foreign keys on, `synchronous` as given ("full" survives power
 *  loss with every commit; "normal" may lose the last commits but never corrupts). Creates the
 *  parent directory (0700) and the file (0600) when missing. Throws if the file cannot be opened;
 *  a full or failing disk as an Error whose message says so (storageProblem). */
export function openDatabase(path: string, opts: { synchronous: Synchronous }): Database {
  try {
    return open(path, opts);
  } catch (err) {
    throw path === ":memory:" ? err : explainStorageError(err, dirname(path));
  }
}

function open(path: string, opts: { synchronous: Synchronous }): Database {
  if (path !== ":memory:") {
    const created = mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // mkdir's mode is filtered by the umask; set it exactly on what we created, never on a
    // directory the operator chose and made.
    if (created !== undefined) chmodSync(dirname(path), 0o700);
    // Something else where the file or a side file belongs is refused unopened: opening a FIFO
    // for writing waits for a reader forever (the start hung), SQLite calls a directory a disk
    // I/O error and unlinks a FIFO where its log belongs, so that what stood there is gone by the
    // time anyone looks, and it follows a link where a side file belongs.
    const shape = dbPathProblem(path);
    if (shape) throw new Error(shape.message);
    createPrivate(path);
  }
  const db = new Database(path, { create: true, strict: true });
  try {
    // busy_timeout first: switching to WAL needs a lock another process may hold for a moment.
    db.run(`PRAGMA busy_timeout = ${OPEN_BUSY_TIMEOUT_MS}`);
    db.run("PRAGMA journal_mode = WAL");
    db.run("PRAGMA foreign_keys = ON");
    db.run(`PRAGMA synchronous = ${opts.synchronous === "full" ? "FULL" : "NORMAL"}`);
    const refused = settingsProblem(path, readSettings(db), opts.synchronous);
    if (refused) throw new StorageSettingsError(refused);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

/** What a connection runs with, read back from SQLite rather than assumed from what was asked
 *  (reliability plan T26): serve's start log reports it, and `open` refuses a database that did
 *  not take a setting the broker's promises rest on. */
export type StorageSettings = { sqlite: string; journalMode: string; sqliteSynchronous: string; foreignKeys: boolean; busyTimeoutMs: number };

const SYNCHRONOUS_NAMES = ["off", "normal", "full", "extra"];

export function readSettings(db: Database): StorageSettings {
  const pragma = <T>(name: string) => Object.values(db.query(`PRAGMA ${name}`).get() as Record<string, T>)[0]!;
  const level = pragma<number>("synchronous");
  return {
    sqlite: db.query<{ v: string }, []>("SELECT sqlite_version() AS v").get()!.v,
    journalMode: pragma<string>("journal_mode"),
    sqliteSynchronous: SYNCHRONOUS_NAMES[level] ?? String(level),
    foreignKeys: pragma<number>("foreign_keys") === 1,
    busyTimeoutMs: pragma<number>("busy_timeout"),
  };
}

/** A setting SQLite did not take on, in words, or null. `PRAGMA journal_mode = WAL` answers with
 *  the mode it left the database in and does not fail: a file system whose shared memory SQLite
 *  cannot map keeps the rollback journal, and "full" durability (a flush of the -wal file before
 *  every answer) would then flush a file that holds nothing. */
export function settingsProblem(path: string, s: StorageSettings, synchronous: Synchronous): string | null {
  if (path !== ":memory:" && s.journalMode !== "wal") {
    return `SQLite kept ${path} in journal mode "${s.journalMode}" when asked for WAL, which claudemesh needs for its durability; this file system may not support it (a network or FUSE mount): use a data directory on a local disk (ext4, xfs, APFS)`;
  }
  if (s.sqliteSynchronous !== synchronous) return `SQLite runs ${path} with synchronous=${s.sqliteSynchronous}, not the ${synchronous} asked for`;
  if (!s.foreignKeys) return `SQLite did not turn foreign keys on for ${path} (this build may omit them)`;
  return null;
}

/** A database SQLite opened without a setting the broker relies on (settingsProblem). */
export class StorageSettingsError extends Error {}

/** Creates the database file 0600 before SQLite does, so it is never readable by others, not
 *  even briefly, and sets 0600 on one that exists. A link to a regular file is followed (an
 *  operator may keep the database on another disk that way), but the mode is set through the
 *  descriptor, on the file opened and checked, never again by path: a link changed meanwhile
 *  cannot make anything else 0600. */
function createPrivate(path: string): void {
  const fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NONBLOCK, 0o600);
  try {
    if (!fstatSync(fd).isFile()) throw new Error(`${path} is not a regular file`);
    fchmodSync(fd, 0o600);
  } finally {
    closeSync(fd);
  }
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}
