// What a failure in a broker's data directory says when `serve` or `serve --check` cannot start
// (the CLI does not import the store, so it asks here), and which of those failures are the
// place's fault: a lock file that is a directory, a directory that cannot be created or written
// in, a backups/ that root kept. A full or failing disk is the disk's state, worded apart
// (store/sqlite/disk-faults.ts). startFailureKind tells a supervisor which of them a restart
// cannot change.
import { statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { isDamaged } from "../store/sqlite/db-errors.ts";
import { LockFileError } from "../store/sqlite/dir-lock.ts";
import { diskFault } from "../store/sqlite/disk-faults.ts";
import { MigrationBackupError, MigrationError } from "../store/sqlite/migrate.ts";
import { databaseProblem, storageProblem } from "../store/sqlite/open.ts";
import { DEFAULT_DB_FILE } from "../store/sqlite/store.ts";
import { errnoOf, fileError, LocalFileError } from "../local-file/error.ts";
import { giveBackFix } from "../local-file/owner.ts";
import { DamagedDatabaseError, restoreBackup } from "./damaged-fix.ts";

/** For `serve`'s start-up errors: a database path that is not a file, a full or failing disk, a
 *  database another user owns or that is damaged; null for anything else. */
export function startProblem(err: unknown, dataDir: string): string | null {
  const db = join(dataDir, DEFAULT_DB_FILE);
  return notAFile(db) ?? storageProblem(err, dataDir) ?? databaseProblem(err, db, restoreBackup(dataDir));
}

/** A database path that holds something else: SQLite calls a directory a disk I/O error, which
 *  sent operators to dmesg. */
function notAFile(db: string): string | null {
  try {
    const st = statSync(db, { throwIfNoEntry: false });
    return st && !st.isFile() ? `${db} is ${st.isDirectory() ? "a directory" : "not a regular file"}, not a database file: move it away and start again` : null;
  } catch {
    return null;
  }
}

/** What claimDataDir (or a restore writing in the directory) threw, as a LocalFileError when it is
 *  the directory's or a file's fault: a lock file that is a directory, a directory that cannot be
 *  created or written in (the path, why and a fix, never the raw errno text). Null for anything
 *  else: SQLite's own errors, and a full or failing disk, which each command words itself. */
export function dataDirFileError(err: unknown, dataDir: string): LocalFileError | null {
  if (err instanceof LocalFileError) return err;
  if (err instanceof LockFileError) return new LocalFileError(err.message, null, { cause: err });
  const errno = errnoOf(err);
  if (!errno || diskFault(errno, dataDir) !== null) return null;
  if (err instanceof MigrationBackupError) return migrationBackupError(err);
  const path = resolve(errno.path ?? dataDir);
  // Another path would start an empty broker beside the data: the mount is what to change.
  const fix = { EROFS: `remount the file system holding ${resolve(dataDir)} read-write (a broker needs to write in its data directory)` };
  return fileError(err, path, errno.syscall === "mkdir" ? "create" : "write", { fix, ...(path === resolve(dataDir) ? { what: "the data directory" } : {}) }) as LocalFileError;
}

/** What a failed start means for a supervisor: "data" when the data directory holds what no
 *  broker may serve (a damaged database, one a newer claudemesh wrote or whose migrations were
 *  edited, an audit chain that does not verify, something else where the database or the lock
 *  file belongs); "access" when this user may not use the place (permissions, another user's
 *  files, a read-only file system). Null when it may pass by itself or is not known: a full or
 *  failing disk, and anything else. Only an operator changes the first two: a restart repeats
 *  the same refusal (and the quick_check before it). */
export function startFailureKind(err: unknown, dataDir: string): "data" | "access" | null {
  const migration = err instanceof MigrationError && !(err instanceof MigrationBackupError);
  // A LockFileError without a cause: something that is not a file where the lock file belongs.
  const lockInTheWay = err instanceof LockFileError && err.cause === undefined;
  if (err instanceof DamagedDatabaseError || isDamaged(err) || migration || lockInTheWay || notAFile(join(dataDir, DEFAULT_DB_FILE))) return "data";
  if (diskFault(err, dataDir) !== null) return null;
  const code = String(errnoOf(err)?.code ?? (err as { code?: unknown } | null)?.code ?? "");
  // SQLITE_CANTOPEN: the database file this user may not open (databaseProblem's words).
  return NO_ACCESS.has(code) ? "access" : null;
}

const NO_ACCESS = new Set(["EACCES", "EPERM", "EROFS", "SQLITE_CANTOPEN"]);

/** The backup taken before migrating could not be written: named with backups/ (whose owner and
 *  mode say why), not the database. A backups/ that is not ours (`sudo claudemesh admin backup`
 *  before owner.ts gave it back) is given back with chown. */
function migrationBackupError(err: MigrationBackupError): LocalFileError {
  const fix = giveBackFix(dirname(err.file), "start again");
  return fileError(err, err.file, "write", { what: "the backup taken before migrating", fix: { EACCES: fix, EPERM: fix } }) as LocalFileError;
}
