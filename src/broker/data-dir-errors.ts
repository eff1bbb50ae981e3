// What a failure in a broker's data directory says when `serve` or `serve --check` cannot start
// (the CLI does not import the store, so it asks here), and whether a restart can change it. The
// file system's failures are the place's fault: a lock file that is a directory, a symbolic link
// where the lock, a PID file or a side file of the database belongs, a directory that
// cannot be created or written in, a backups/ that root kept. A full or failing disk is the disk's
// state, worded apart (store/sqlite/disk-faults.ts).
import { dirname, join, resolve } from "node:path";
import { isDamaged, isLockError } from "../store/sqlite/db-errors.ts";
import { LockFileError } from "../store/sqlite/dir-lock.ts";
import { diskFault, findLockHolder } from "../store/sqlite/disk-faults.ts";
import { MigrationBackupError, MigrationError } from "../store/sqlite/migrate.ts";
import { NotOurFileError } from "../store/sqlite/own-file.ts";
import { databaseProblem, OPEN_BUSY_TIMEOUT_MS, storageProblem, StorageSettingsError } from "../store/sqlite/open.ts";
import { DEFAULT_DB_FILE } from "../store/sqlite/open-store.ts";
import { errnoOf, fileError, LocalFileError } from "../local-file/error.ts";
import { giveBackFix } from "../local-file/owner.ts";
import { DamagedDatabaseError, restoreBackup } from "./damaged-fix.ts";
import { dbPathProblem } from "../store/sqlite/db-path-shape.ts";

/** What a failed start means for a supervisor: "data" when the data directory holds what no
 *  broker may serve (a damaged database, one a newer claudemesh wrote or whose migrations were
 *  edited, an audit chain that does not verify, something else where the database or the lock
 *  file belongs); "access" when this user may not use the place (permissions, another user's
 *  files, a read-only file system). Null when it may pass by itself or is not known: a full or
 *  failing disk, and anything else. Only an operator changes the first two: a restart repeats
 *  the same refusal (and the quick_check before it). */
type StartFailureKind = "data" | "access" | null;

/** Why a start failed: the message, the fix when it is a line of its own, and the kind. */
type StartFailure = { message: string; fix: string | null; kind: StartFailureKind };

/** What stopped `serve` or `serve --check` at start (claiming the data directory, opening,
 *  migrating or checking the store), in words: the file system's errors first, then SQLite's,
 *  else the error's own message. `underSystemd`: started as a systemd service, whose sandbox is
 *  the likelier reason for a read-only directory. */
export function startFailure(err: unknown, dataDir: string, underSystemd: boolean): StartFailure {
  // What stands where the database's files belong first: SQLite and the file system word it as
  // something else (a disk I/O error, a read-only database, another user's file).
  const shape = dbPathProblem(join(dataDir, DEFAULT_DB_FILE));
  if (shape) return { message: shape.message, fix: null, kind: shape.kind };
  const local = fileFailure(err, dataDir, underSystemd);
  if (local) return { message: local.error.message, fix: local.error.fix, kind: local.kind };
  return startProblem(err, dataDir) ?? { message: (err as Error)?.message ?? String(err), fix: null, kind: null };
}

/** SQLite's and the disk's start-up errors: a full or failing disk, a database that is damaged,
 *  that this user may not open, that no migration may bring up to date, or that SQLite would not
 *  run with the settings the broker needs (open.ts settingsProblem); null for anything
 *  else. (A path that holds no file is dbPathProblem's, checked before.) */
function startProblem(err: unknown, dataDir: string): StartFailure | null {
  const db = join(dataDir, DEFAULT_DB_FILE);
  const problem = (message: string, kind: StartFailureKind): StartFailure => ({ message, fix: null, kind });
  // Another broker is named before this (claimDataDir): what still holds SQLite's write lock past
  // the open's wait is another program, and SQLite's "database is locked" names neither it nor
  // the file. It may pass by itself (the holder commits), so no kind.
  if (isLockError(err))
    return {
      message: `another process has held the write lock on ${db} for over ${OPEN_BUSY_TIMEOUT_MS / 1000} s (not a broker: an sqlite3 shell inside a transaction, say)`,
      fix: `${findLockHolder(db)}, then start again`,
      kind: null,
    };
  const disk = storageProblem(err, dataDir);
  if (disk) return problem(disk, null);
  const said = databaseProblem(err, db, restoreBackup(dataDir));
  if (said) return problem(said, isDamaged(err) ? "data" : "access");
  const migration = err instanceof MigrationError && !(err instanceof MigrationBackupError);
  const unfit = err instanceof DamagedDatabaseError || err instanceof StorageSettingsError || migration;
  return unfit ? problem((err as Error).message, "data") : null;
}
/** What claimDataDir (or a restore writing in the directory) threw, as a LocalFileError when it is
 *  the directory's or a file's fault: a lock file that is a directory, a directory that cannot be
 *  created or written in (the path, why and a fix, never the raw errno text). Null for anything
 *  else: SQLite's own errors, and a full or failing disk, which each command words itself. */
export function dataDirFileError(err: unknown, dataDir: string): LocalFileError | null {
  return fileFailure(err, dataDir, false)?.error ?? null;
}

/** dataDirFileError's error, with its StartFailureKind. */
function fileFailure(err: unknown, dataDir: string, underSystemd: boolean): { error: LocalFileError; kind: StartFailureKind } | null {
  if (err instanceof LocalFileError) return { error: err, kind: accessKind(err) };
  // A LockFileError without a cause: something that is not a file where the lock file belongs.
  if (err instanceof LockFileError) return { error: new LocalFileError(err.message, null, { cause: err }), kind: err.cause === undefined ? "data" : accessKind(err) };
  // A link (or other non-file) where the lock or a PID file belongs: only an operator can remove it.
  if (err instanceof NotOurFileError) return { error: new LocalFileError(err.message, null, { cause: err }), kind: "data" };
  const errno = errnoOf(err);
  if (!errno || diskFault(errno, dataDir) !== null) return null;
  if (err instanceof MigrationBackupError) return { error: migrationBackupError(err), kind: accessKind(err) };
  const path = resolve(errno.path ?? dataDir);
  const fix = { EROFS: readOnlyFix(dataDir, underSystemd) };
  const error = fileError(err, path, errno.syscall === "mkdir" ? "create" : "write", { fix, ...(path === resolve(dataDir) ? { what: "the data directory" } : {}) }) as LocalFileError;
  return { error, kind: accessKind(err) };
}

/** "access" for a file system error (or one wrapping it) that says this user may not. */
const accessKind = (err: unknown): StartFailureKind => (NO_ACCESS.has(errnoOf(err)?.code ?? "") ? "access" : null);

const NO_ACCESS = new Set(["EACCES", "EPERM", "EROFS"]);

/** A read-only data directory: remount it (another path would start an empty broker beside the
 *  data). Under systemd the likelier cause is ProtectSystem=strict, which leaves writable only
 *  the paths the unit names. */
function readOnlyFix(dataDir: string, underSystemd: boolean): string {
  const dir = resolve(dataDir);
  const remount = `remount the file system holding ${dir} read-write (a broker needs to write in its data directory)`;
  if (!underSystemd) return remount;
  return `${remount}; under systemd, ProtectSystem=strict makes every path read-only but those the unit names: add ReadWritePaths=${dir} in a drop-in (systemctl edit claudemesh)`;
}

/** The backup taken before migrating could not be written: named with backups/ (whose owner and
 *  mode say why), not the database. A backups/ that is not ours (`sudo claudemesh admin backup`
 *  before owner.ts gave it back) is given back with chown. */
function migrationBackupError(err: MigrationBackupError): LocalFileError {
  const fix = giveBackFix(dirname(err.file), "start again");
  return fileError(err, err.file, "write", { what: "the backup taken before migrating", fix: { EACCES: fix, EPERM: fix } }) as LocalFileError;
}
