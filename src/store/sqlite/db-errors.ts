// Which SQLite failures mean "the database is unavailable" rather than a bug: the broker answers
// those with MeshError unavailable (retryable) instead of internal, saying which it is, so that a
// member can tell the operator more than "unavailable".
import { SQLiteError } from "bun:sqlite";
import { MeshError } from "../../protocol/errors.ts";
import { StoreLocked } from "../errors.ts";

const DAMAGED = "it is damaged";

/** Result codes (primary, before the extended suffix) that a retry or an operator can fix, with
 *  what each says of the database. BUSY and LOCKED (another connection holds a lock) are apart:
 *  they become StoreLocked. */
const REASON: Record<string, string> = {
  SQLITE_FULL: "its disk is full",
  SQLITE_IOERR: "its disk reported an I/O error",
  SQLITE_READONLY: "it is read-only",
  SQLITE_CANTOPEN: "its file cannot be opened",
  SQLITE_CORRUPT: DAMAGED,
  SQLITE_NOTADB: DAMAGED,
};
const LOCK = new Set(["SQLITE_BUSY", "SQLITE_LOCKED"]);

/** "SQLITE_IOERR_WRITE" → "SQLITE_IOERR". */
const primary = (code: string) => code.split("_").slice(0, 2).join("_");

/** Whether `e` is SQLite's "another connection holds the lock" (BUSY or LOCKED, any extended code). */
export const isLockError = (e: unknown): boolean => e instanceof SQLiteError && LOCK.has(primary(e.code ?? ""));

/** Whether `e` is SQLite's "this file is not a sound database" (CORRUPT or NOTADB, any extended
 *  code): bytes that are not a database, or a damaged page. */
export const isDamaged = (e: unknown): boolean => e instanceof SQLiteError && REASON[primary(e.code ?? "")] === DAMAGED;

/** Runs `fn`, turning storage-level failures into MeshError unavailable (cause kept): StoreLocked
 *  for a lock another connection holds, otherwise with the reason in the message ("the broker's
 *  database is unavailable: its disk is full"). MeshErrors and anything else pass through. */
export function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (isLockError(e)) throw new StoreLocked({ cause: e });
    const reason = e instanceof SQLiteError ? REASON[primary(e.code ?? "")] : undefined;
    if (reason) throw new MeshError("unavailable", `the broker's database is unavailable: ${reason}`, { cause: e });
    if (e instanceof Error && /closed database/i.test(e.message)) throw new MeshError("unavailable", "the broker's database is closed", { cause: e });
    throw e;
  }
}

/** "SQLITE_FULL: database or disk is full" for a failure of the disk or the file (as guard throws
 *  it), which writes keep meeting until someone acts, unlike a lock; else null. */
export function persistentFailure(e: unknown): string | null {
  const cause = e instanceof MeshError ? e.cause : e;
  if (!(cause instanceof SQLiteError) || REASON[primary(cause.code ?? "")] === undefined) return null;
  return `${cause.code}: ${cause.message}`;
}
