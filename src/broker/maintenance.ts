// Restore of a broker's data directory (`claudemesh admin restore`), and the checks `admin backup`
// (backup.ts) and `admin token` share. Restore is offline: it holds the directory's lock from its
// first check until the new database is in place (so no `serve` can open the old one meanwhile),
// gives the restored database a new epoch so connected clients learn (hello_ack.epoch) that
// history may have rolled back, and a new operator token, since the backup holds the hash of a
// token that may have been replaced because it leaked; it keeps the replaced database's replay
// memory (restore-replay.ts), which must not go back to the backup's. Both verify every audit
// chain of the copy they make, which is the file they leave or install, as `serve` does before it
// listens (verifyFileChains), so neither passes on history a broker must not serve.
import { accessSync, constants, existsSync, renameSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { randomId } from "../crypto/hash.ts";
import { MeshError } from "../protocol/errors.ts";
import { checkDatabaseFile, checkIntegrity, DataFileError, fileMeta, inspectFile, openFileChains, setFileMeta, syncPath, type FileInfo } from "../store/sqlite/data-file.ts";
import { isDamaged } from "../store/sqlite/db-errors.ts";
import { NewerSchemaError, refuseNewer } from "../store/sqlite/migrate.ts";
import { MIGRATIONS } from "../store/migrations.ts";
import { removeSideFilesWeMade, sideFiles } from "./side-files.ts";
import { DEFAULT_DB_FILE } from "../store/sqlite/open-store.ts";
import { claimDataDir, describeHolder, releaseDataDir } from "./pid-file.ts";
import { giveDataDirToOwner } from "./data-dir-owner.ts";
import { heldDatabaseFile } from "./database-lock.ts";
import { restoreFailure } from "./admin-errors.ts";
import { mintOperatorToken, OPERATOR_TOKEN_KEY } from "./operator.ts";
import { errnoOf, fileError, LocalFileError, onFile, statIfAny } from "../local-file/error.ts";
import { giveToDirOwner } from "../local-file/owner.ts";
import { makeDirs } from "../local-file/dirs.ts";
import { onInterrupt, signalsHeard } from "../local-file/interrupt.ts";
import { chainBreak, verifyEveryChain, type ChainsCheck } from "./audit-verifier.ts";
import { dbPathProblem } from "../store/sqlite/db-path-shape.ts";
import { openBackup, type BackupSource } from "./restore-source.ts";
import { restoreLosses, type RestoreLosses } from "./restore-losses.ts";
import { keepReplayMemory, replacedMemory, type ReplayKept } from "./restore-replay.ts";
import { DATABASE_FILES, databaseFileOf, moveDatabase, removeStagedCopies, stagedCopy, unused } from "./restore-target.ts";

export type RestoreResult = {
  file: string;
  /** The database file restored: `<dataDir>/claudemesh.db`, or the file that link names. */
  database: string;
  /** The link `database` was restored through (`<dataDir>/claudemesh.db`); null when it is no link. */
  via: string | null;
  /** Where the database that was replaced now lives (beside `database`); null when there was none. */
  previous: string | null;
  schemaVersion: number;
  /** The backup's audit chains, every one verified from genesis. */
  auditChains: AuditChains;
  /** The restored database's new epoch, and the one the backup carried. */
  epoch: string;
  backupEpoch: string | null;
  /** The new operator token (only its hash is stored): the backup's one no longer works. */
  operatorToken: string;
  meshes: number;
  messages: number;
  /** The replaced database's audit entries the backup lacks: what to do again (restore-losses.ts). */
  losses: RestoreLosses;
  /** What the restored database remembers against replay (restore-replay.ts). */
  replayMemory: ReplayKept;
};

/** What a verification of every audit chain of a file found sound: as `serve --check` reports it. */
export type AuditChains = Pick<ChainsCheck, "meshes" | "entries">;

/** Every audit chain of the database file `path` verified from genesis, however many entries it
 *  holds, and replayed against the membership tables, by the function `serve` verifies with before
 *  it listens (verifyEveryChain). Never
 *  changes the file. Throws `unreadable(reason)` when the chains cannot be read at all (no
 *  audit_log table, a damaged page). */
export async function verifyFileChains(path: string, unreadable: (reason: string) => Error): Promise<ChainsCheck> {
  let chains: ReturnType<typeof openFileChains> | undefined;
  try {
    chains = openFileChains(path);
    return await verifyEveryChain(chains, chains.facts(), await chains.auditSizes());
  } catch (err) {
    throw unreadable((err as Error).message);
  } finally {
    chains?.close();
  }
}

/** 20260122T020355Z: sortable, and safe in file names on every OS. */
export const utcStamp = (d: Date) => d.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");

/** What a database file holds (inspectFile); a file that is not a claudemesh database is
 *  invalid_argument (naming it `shownAs`). */
export function inspect(path: string, shownAs = path): FileInfo {
  return asInvalid(() => inspectFile(path, shownAs));
}

function asInvalid<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof DataFileError) throw new MeshError("invalid_argument", err.message, { cause: err });
    throw err;
  }
}

/** Refuses (LocalFileError, exit 5) what `serve` refuses where the database `db` or one of its
 *  side files belongs, in serve's words (db-path-shape.ts): a directory, FIFO, socket or device, or
 *  a link into a directory that does not exist. Checked before SQLite opens anything: opening a
 *  FIFO waits forever, and SQLite unlinks a FIFO where its -wal belongs and calls a directory
 *  there "unable to open database file". */
export function refuseDbPathShape(db: string): void {
  const shape = dbPathProblem(db);
  if (shape) throw new LocalFileError(shape.message);
}

/** `<dataDir>/claudemesh.db`, checked to be a file this process can use for `purpose`: read it
 *  for a backup (SQLite also writes its -shm beside it to read it, so a read-only file system is
 *  said to be the reason), write it for a token. Never creates one: a mistyped --data-dir says so
 *  instead. Throws MeshError not_found when nothing is there, LocalFileError when something is but
 *  cannot be used (anything but a file there or where a side file belongs (refuseDbPathShape),
 *  another user's file, a path this user may not look into: existsSync called all of those "no
 *  database"). */
export function existingDatabase(dataDir: string, purpose: "backup" | "token"): string {
  const db = join(dataDir, DEFAULT_DB_FILE);
  const ctx = { what: "the broker database" };
  refuseDbPathShape(db);
  const st = statIfAny(db, ctx);
  if (!st) throw new MeshError("not_found", `No broker database at ${db}. Pass the data directory your broker uses: --data-dir, CLAUDEMESH_DATA_DIR or the config file's dataDir.`);
  onFile(db, "read", () => accessSync(db, constants.R_OK), ctx);
  try {
    accessSync(db, constants.W_OK);
  } catch (err) {
    if (errnoOf(err)?.code !== "EROFS") throw fileError(err, db, "read", ctx);
    const why = purpose === "backup" ? "SQLite must write claudemesh.db-shm beside the database to read it" : "the token is written into the database";
    const fix = purpose === "backup" ? `with no broker running, copy it with cp (and ${db}-wal if there is one); or remount the file system read-write` : "remount the file system read-write (no broker can run there either), then run this again";
    throw new LocalFileError(`Cannot ${purpose === "backup" ? "back up" : "write"} the broker database ${db}: its file system is read-only, and ${why}.`, fix, { cause: err });
  }
  refuseNewerDatabase(dataDir, db, purpose);
  return db;
}

/** Refuses (MeshError conflict, exit 5 like a restore of a newer backup) a database a newer
 *  claudemesh wrote, read as `serve` reads it before opening it (refuseNewer: nothing changed, no
 *  side file left). A token written into it would go to a schema this binary does not know; a
 *  backup of it is one this binary's restore refuses, which the backup's "restore with" line
 *  would have promised all the same. Anything else refuseNewer meets (a damaged file, a full disk)
 *  is left to the command's own open, which says it in its words; what SQLite left half made
 *  beside the database then is removed first (side-files.ts). */
function refuseNewerDatabase(dataDir: string, db: string, purpose: "backup" | "token"): void {
  const before = sideFiles(db);
  try {
    refuseNewer(db, MIGRATIONS);
  } catch (err) {
    if (!(err instanceof NewerSchemaError)) return removeSideFilesWeMade(dataDir, db, before);
    const what = purpose === "backup" ? "back up" : "write a token into";
    throw new MeshError(
      "conflict",
      `Cannot ${what} the broker database ${db}: it was written by a newer claudemesh (schema version ${err.found}; this binary knows up to ${err.latest}); nothing was done. Run this command with the claudemesh that serves it (\`claudemesh version --json\` shows the schema a binary knows).`,
      { cause: err },
    );
  }
}

/** Replaces `<dataDir>/claudemesh.db` with a verified copy of `file`, with a new epoch, into
 *  which what the current database remembers against replay is joined (restore-replay.ts). The
 *  current database (with its -wal/-shm) is kept as `claudemesh.db.before-restore-<time>`. When
 *  `claudemesh.db` is a symbolic link, the file it names is replaced (and kept aside beside it),
 *  and the link stays (restore-target.ts). The backup is opened once, and what is installed is
 *  copied from that descriptor (restore-source.ts).
 *  Holds the directory's lock (and names itself in claudemesh.restore.pid) from before its first
 *  check until after the final rename, so a `serve` started meanwhile refuses instead of opening
 *  the database about to be moved aside. Refuses (MeshError conflict) while a broker or another
 *  restore holds the directory, when a database exists and `force` is false, or when the backup's
 *  schema is newer than this binary; invalid_argument when the file is not a sound claudemesh
 *  database or one of its audit chains does not verify (all are verified, however long, before
 *  --force is asked for). Nothing is changed when it throws before the final rename (a data
 *  directory it made, and the parents it made with it, are removed again), and the old database
 *  is put back if that rename fails. */
export async function restoreDataDir(dataDir: string, file: string, opts: { force?: boolean; now?: Date } = {}): Promise<RestoreResult> {
  // Before the data directory is locked (and made), and once: anything but a regular file is
  // refused by the descriptor whose bytes are installed (SQLite would call a directory a disk I/O
  // error, and opening a FIFO by path waits for a writer forever, holding the lock).
  const backup = openBackup(resolve(file));
  try {
    return await restoreOpened(dataDir, backup, opts);
  } finally {
    backup.close();
  }
}

async function restoreOpened(dataDir: string, backup: BackupSource, opts: { force?: boolean; now?: Date }): Promise<RestoreResult> {
  const source = backup.path;
  // A restore that fails leaves no data directory it made (claimDataDir, releaseDataDir).
  let made: string[];
  let holder: ReturnType<typeof claimDataDir>;
  try {
    made = makeDirs(dataDir);
    holder = claimDataDir(dataDir, "restore", { made });
  } catch (err) {
    throw restoreFailure(err, dataDir, source);
  }
  if (holder?.kind === "restore") throw new MeshError("conflict", `Another restore${holder.pid > 0 ? ` (PID ${holder.pid})` : ""} is replacing the database in ${dataDir}. Wait for it to finish.`);
  if (holder?.kind === "linked" || holder?.kind === "unlocked") throw new MeshError("conflict", `${describeHolder(holder, dataDir).replace(/^a/, "A")}. Stop it first, then restore.`);
  if (holder) throw new MeshError("conflict", `A broker${holder.pid > 0 ? ` (PID ${holder.pid})` : ""} is serving ${dataDir}. Stop it first (e.g. systemctl stop claudemesh), then restore.`);
  let restored = false;
  const interrupted = onInterrupt(() => {
    removeStagedCopies(heldDatabaseFile(dataDir));
    releaseDataDir(dataDir, "restore", made);
  });
  try {
    // As root: what an earlier command run as root left in the directory is its owner's again.
    giveDataDirToOwner(dataDir);
    const result = await restoreLocked(dataDir, backup, opts);
    restored = true;
    return result;
  } catch (err) {
    throw restoreFailure(err, restoreDir(dataDir), source);
  } finally {
    interrupted.off();
    releaseDataDir(dataDir, "restore", restored ? [] : made);
  }
}

// onInterrupt (local-file/interrupt.ts): a handler runs only while the restore pauses
// (signalsHeard, and in verifying the copy's chains), which it does only before it changes
// anything: the moves and the final rename run without a pause, so a signal never lands between
// them. One sent while the copy or integrity_check runs waits for that step to end.

/** Where the restore writes: the data directory, or the directory of the file a `claudemesh.db`
 *  link names (whose disk a full-disk refusal must name). */
function restoreDir(dataDir: string): string {
  try {
    return dirname(databaseFileOf(join(dataDir, DEFAULT_DB_FILE)));
  } catch {
    return dataDir;
  }
}

/** What the copy `copy` of the backup `source` about to be installed holds, and its audit chains,
 *  every one verified. Throws MeshError naming `source`: conflict when its schema is newer than
 *  this binary; invalid_argument when its chains do not verify or cannot be read (`serve` would
 *  refuse to start on them, so this comes before --force is asked for). */
async function restorable(source: string, copy: string): Promise<FileInfo & { chains: AuditChains }> {
  const info = inspect(copy, source);
  if (info.schemaVersion > info.knownVersion) {
    throw new MeshError("conflict", `${source} was written by a newer claudemesh (schema version ${info.schemaVersion}; this binary knows up to ${info.knownVersion}). Upgrade claudemesh, then restore.`);
  }
  const refuse = (why: string, fix: string) => new MeshError("invalid_argument", `${source} cannot be restored: ${why}; nothing was changed. ${fix}`);
  const found = await verifyFileChains(copy, (why) => refuse(`its audit chains cannot be read (${why})`, "Restore another backup."));
  if (found.broken) {
    throw refuse(`${chainBreak(found.broken)}. Its history was damaged or changed outside the broker before the backup was taken, and claudemesh serve would refuse to start on it`, "Restore an earlier backup.");
  }
  return { ...info, chains: { meshes: found.meshes, entries: found.entries } };
}

/** The refusals of the copy of the backup `source`, in the backup's name: a copy that fails
 *  integrity_check, or a damaged page met while reading it. */
function sourceRefusal(err: unknown, source: string): unknown {
  if (!(err instanceof DataFileError)) return err;
  if (err.side === "check") return new MeshError("invalid_argument", `${source} fails SQLite's integrity check: ${err.message}`, { cause: err });
  if (err.side === "source" && isDamaged(err.cause)) return new MeshError("invalid_argument", `${source} cannot be read as a database: ${(err.cause as Error).message}`, { cause: err });
  return err;
}

async function restoreLocked(dataDir: string, backup: BackupSource, opts: { force?: boolean; now?: Date }): Promise<RestoreResult> {
  // The directory (and the database's) lock is held: no broker accepts a signature from now on.
  const lockedAt = Date.now();
  const source = backup.path;
  const link = join(dataDir, DEFAULT_DB_FILE);
  // What serve would refuse to start on is refused before anything is copied, not moved aside as
  // "the previous database" (a FIFO), replaced (a link to a disk not mounted yet: the restored
  // database would have stayed on the wrong disk) or left to stop the start (a -journal directory).
  refuseDbPathShape(link);
  // Where the broker opens it: through a link, the file it names, whose directory holds its
  // -wal/-shm and, from now, the copy and the database it replaces.
  const db = databaseFileOf(link);
  const dir = dirname(db);
  const stamp = utcStamp(opts.now ?? new Date());
  // What a restore killed before it finished left (this one holds the database's locks: no other
  // restore of it is at work).
  removeStagedCopies(db);
  // Work on a copy beside the database, so the final step is a same-filesystem rename. SQLite
  // opens only the copy: everything (whether it is a claudemesh database, integrity_check, schema,
  // counts and chains) is judged there, in the file installed, so a backup written meanwhile
  // cannot slip past.
  const staged = stagedCopy(db, stamp);
  try {
    // Its -wal too: what only it holds (a database copied from a broker that was killed, or one
    // a restore moved aside) would have been left out.
    backup.copyTo(staged);
    await signalsHeard();
    asInvalid(() => checkDatabaseFile(staged, source));
    let info: Awaited<ReturnType<typeof restorable>>;
    try {
      checkIntegrity(staged);
      await signalsHeard();
      info = await restorable(source, staged);
    } catch (err) {
      throw sourceRefusal(err, source);
    }
    // What the restore undoes (kicks, rotations…), read while the replaced database is in place.
    const losses = existsSync(db) && opts.force ? await restoreLosses(db, staged) : null;
    // And what it remembers against replay, which the backup's older memory lacks.
    const memory = await replacedMemory(db);
    await signalsHeard(); // the last pause: from here on the restore changes what it replaces
    const exists = existsSync(db);
    const previous = exists ? unused(`${db}.before-restore-${stamp}`) : null;
    if (exists && !opts.force) throw new MeshError("conflict", `${db} exists. Pass --force to replace it; it will be kept as ${previous}.`);
    // Restoring as root for a broker that runs as its own user (the systemd unit): the file must be
    // that user's, or the broker cannot open it. The data directory's owner is that user (not
    // necessarily the owner of the directory a link leads to: a mount point may be root's).
    giveToDirOwner([staged], dataDir);
    const epoch = randomId();
    setFileMeta(staged, "epoch", epoch);
    // The backup's token may be one replaced since because it leaked: never bring it back.
    const { token, hash } = mintOperatorToken();
    setFileMeta(staged, OPERATOR_TOKEN_KEY, hash);
    const replayMemory = keepReplayMemory(staged, memory, lockedAt);
    const written = fileMeta(staged, "epoch");
    if (written !== epoch) throw new MeshError("unavailable", `The staged copy ${staged} did not verify (its epoch reads ${written}, not ${epoch}); nothing was changed.`);
    // A -wal or hot -journal without its database (a crash, a manual delete) would be played back
    // into the restored file by SQLite; move them aside with the rest.
    syncPath(staged);
    moveDatabase(db, previous ?? unused(`${db}.stale-${stamp}`));
    try {
      renameSync(staged, db);
    } catch (err) {
      if (previous) moveDatabase(previous, db);
      throw err;
    }
    syncPath(dir); // the renames, not only the bytes, must survive a power loss
    const via = db === link ? null : link;
    return { file: source, database: db, via, previous, schemaVersion: info.schemaVersion, auditChains: info.chains, epoch, backupEpoch: info.epoch, operatorToken: token, meshes: info.meshes, messages: info.messages, losses, replayMemory };
  } finally {
    for (const suffix of DATABASE_FILES) rmSync(staged + suffix, { force: true });
  }
}
