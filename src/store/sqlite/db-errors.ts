// Which SQLite failures mean "the database is unavailable" rather than a bug: the broker answers
// those with MeshError unavailable (retryable) instead of internal.
import { SQLiteError } from "bun:sqlite";
import { MeshError } from "../../protocol/errors.ts";

/** Result codes (primary, before the extended suffix) that a retry or an operator can fix. */
const UNAVAILABLE = new Set(["SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_FULL", "SQLITE_IOERR", "SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_CORRUPT", "SQLITE_NOTADB"]);

/** "SQLITE_IOERR_WRITE" → "SQLITE_IOERR". */
const primary = (code: string) => code.split("_").slice(0, 2).join("_");

/** Runs `fn`, turning storage-level failures into MeshError unavailable (cause kept). MeshErrors
 *  and anything else pass through unchanged. */
export function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof SQLiteError && UNAVAILABLE.has(primary(e.code ?? ""))) throw new MeshError("unavailable", "the broker's database is unavailable", { cause: e });
    if (e instanceof Error && /closed database/i.test(e.message)) throw new MeshError("unavailable", "the broker's database is closed", { cause: e });
    throw e;
  }
}

/** Result codes of a disk or a file that writes will keep failing on until someone acts: unlike
 *  BUSY or LOCKED, a retry alone does not help. */
const PERSISTENT = new Set([...UNAVAILABLE].filter((code) => code !== "SQLITE_BUSY" && code !== "SQLITE_LOCKED"));

/** "SQLITE_FULL: database or disk is full" for such a failure (as guard throws it), else null. */
export function persistentFailure(e: unknown): string | null {
  const cause = e instanceof MeshError ? e.cause : e;
  if (!(cause instanceof SQLiteError) || !PERSISTENT.has(primary(cause.code ?? ""))) return null;
  return `${cause.code}: ${cause.message}`;
}
