// What a failed `admin restore` or `admin token` says (admin backup's own cases are in
// backup-errors.ts): what failed, why in the words every command uses for a disk
// (store/sqlite/disk-faults.ts), how much room is needed when it is known, and a fix that fits the
// command ("run the restore again", never serve's "start again"). A full disk is a local refusal
// (LocalFileError, exit 5), as for a backup: the operator must act, and a retry alone will not do.
import { statSync } from "node:fs";
import { MeshError } from "../protocol/errors.ts";
import { isDamaged } from "../store/sqlite/db-errors.ts";
import { diskFault, diskFix, diskSaid } from "../store/sqlite/disk-faults.ts";
import { LocalFileError } from "../local-file/error.ts";
import { dataDirCommand } from "../config/command-line.ts";
import { dataDirFileError } from "./data-dir-errors.ts";
import { damagedFix } from "./damaged-fix.ts";

/** The broker database `db` of `dataDir` is damaged (SQLite's `sqliteError` says how), so
 *  `consequence`. */
export function damagedDatabase(dataDir: string, db: string, sqliteError: unknown, consequence: string, cause: unknown): LocalFileError {
  return new LocalFileError(`The broker database ${db} is damaged (${(sqliteError as Error).message}); ${consequence}.`, damagedFix(dataDir), { cause });
}

/** Room SQLite's claudemesh.db-wal and -shm take beside a database while a row is written: a
 *  32 KiB -shm, the -wal's header and a few 4 KiB pages. Measured on a tmpfs: a token needed
 *  44 KiB free (40 did not do), a restore of a 124 KiB backup 180 KiB (170 did not do). */
const SIDE_FILES_BYTES = 64 * 1024;

/** "124 KiB", "3 MiB", "1.2 GiB": rounded up, as room to make. */
function sizeText(bytes: number): string {
  if (bytes >= 2 ** 30) return `${Math.ceil((bytes / 2 ** 30) * 10) / 10} GiB`;
  return bytes >= 2 ** 20 ? `${Math.ceil(bytes / 2 ** 20)} MiB` : `${Math.ceil(bytes / 2 ** 10)} KiB`;
}

/** The bytes of `file` and its -wal (what a copy of it holds at most), or null when unknown. */
function bytesOf(file: string): number | null {
  try {
    return statSync(file).size + (statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0);
  } catch {
    return null;
  }
}

/** What a restore of `source` into `dataDir` threw, as the CLI prints it: MeshErrors and worded
 *  local refusals unchanged; a full or failing disk with the room the restore needs (the staged
 *  copy is at most the backup's size, and the database it replaces is moved aside, not copied); a
 *  directory it may not write in (dataDirFileError); anything else unavailable. */
export function restoreFailure(err: unknown, dataDir: string, source: string): unknown {
  if (err instanceof MeshError || err instanceof LocalFileError) return err;
  const fault = diskFault(err, dataDir);
  if (fault) {
    const bytes = fault === "io" ? null : bytesOf(source);
    const room = bytes === null ? "" : ` (the restore needs about ${sizeText(bytes + SIDE_FILES_BYTES)}: the backup's size and SQLite's -wal and -shm)`;
    return new LocalFileError(`Cannot restore into ${dataDir}: ${diskSaid(fault, dataDir)}.`, diskFix(fault, "run the restore again", room), { cause: err });
  }
  return dataDirFileError(err, dataDir) ?? new MeshError("unavailable", `Cannot restore into ${dataDir}: ${(err as Error).message}`, { cause: err });
}

/** What writing a new operator token into `db` (in `dataDir`) threw: a full or failing disk, or a
 *  damaged database, in words; anything else unchanged. */
export function tokenFailure(err: unknown, dataDir: string, db: string): unknown {
  if (isDamaged(err)) return damagedDatabase(dataDir, db, err, "the new token was not written", err);
  const fault = diskFault(err, dataDir);
  if (!fault) return err;
  const room = fault === "io" ? "" : ` (about ${sizeText(SIDE_FILES_BYTES)}, for SQLite's claudemesh.db-wal and claudemesh.db-shm)`;
  return new LocalFileError(`Cannot write the new operator token into the broker database ${db}: ${diskSaid(fault, dataDir)}.`, diskFix(fault, `run ${dataDirCommand(["admin", "token"], dataDir)} again`, room), { cause: err });
}
