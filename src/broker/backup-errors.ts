// What a failed `admin backup` says, and its exit code. The file it is about comes first: the
// broker database it reads (which must be readable, and whose directory SQLite writes its -shm
// in), or the copy it writes. Then why, in words (never "unable to open database file"), and a fix
// that fits a backup ("run the backup again", not serve's "start again").
import { dirname } from "node:path";
import { MeshError } from "../protocol/errors.ts";
import { DataFileError } from "../store/sqlite/data-file.ts";
import { isDamaged, isLockError } from "../store/sqlite/db-errors.ts";
import { diskFault, diskFix, diskSaid } from "../store/sqlite/disk-faults.ts";
import { errnoOf, fileError, LocalFileError } from "../local-file/error.ts";
import { giveBackFix } from "../local-file/owner.ts";
import { damagedDatabase } from "./admin-errors.ts";
import { dataDirCommand } from "../config/command-line.ts";
import { damagedFix } from "./damaged-fix.ts";

type Where = { db: string; file: string; dataDir: string; out: boolean };

const AGAIN = "run the backup again";

/** `err` (from snapshotFile or around it) as what the CLI prints. See the header for the codes. */
export function backupFailure(err: unknown, where: Where): unknown {
  if (err instanceof MeshError || err instanceof LocalFileError) return err;
  if (!(err instanceof DataFileError)) return fileError(err, where.file, "write", { what: "the backup" });
  const cause = err.cause;
  if (err.side === "check") {
    return new MeshError("internal", `The copy ${where.file}.partial was written but fails SQLite's integrity check (${err.message}); it is kept for inspection. Check the broker database with ${dataDirCommand(["serve", "--check"], where.dataDir)} (broker stopped), then run the backup again.`, { cause: err });
  }
  if (err.side === "source") return sourceFailure(err, cause, where);
  // The name, or its .partial, another backup or program took after checkedOut found it free.
  if (err.side === "taken") return new MeshError("conflict", `${err.message} Choose another name.`, { cause: err });
  const dir = dirname(where.file);
  const fault = diskFault(cause, dir);
  if (fault) return new LocalFileError(`Cannot write the backup ${where.file}: ${diskSaid(fault, dir)}.`, diskFix(fault, AGAIN, where.out ? ", or give another --out" : ""), { cause: err });
  if (errnoOf(err)) return fileError(err, where.file, "write", { what: "the backup", fix: backupsFix(where) });
  return new MeshError("internal", `Cannot write the backup ${where.file}: ${(cause as Error)?.message ?? err.message}`, { cause: err });
}

/** The copy `copy` of the broker database `db` of `dataDir` holds audit chains that do not verify
 *  (`finding`: which mesh and entry, or why they cannot be read): a refusal (5), the copy kept as
 *  evidence. */
export function chainsFailure(dataDir: string, db: string, copy: string, finding: string): LocalFileError {
  return new LocalFileError(
    `The broker database ${db} holds history that does not verify: in the copy just taken, ${finding}. It was damaged or changed outside the broker, and a broker must not serve it. The copy is kept as ${copy} for inspection, not as a backup: claudemesh admin restore refuses it.`,
    damagedFix(dataDir),
  );
}

/** The broker database could not be read: busy (may pass: 6), damaged or on a full disk (5). */
function sourceFailure(err: DataFileError, cause: unknown, where: Where): unknown {
  if (isLockError(cause)) {
    return new MeshError("unavailable", `The broker database ${where.db} stayed locked for 5 s (another process holds its write lock); run the backup again.`, { cause: err });
  }
  if (isDamaged(cause)) return damagedDatabase(where.dataDir, where.db, cause, "a copy of it would not restore", err);
  const fault = diskFault(cause, where.dataDir);
  if (fault) {
    return new LocalFileError(
      `Cannot back up the broker database ${where.db}: ${diskSaid(fault, where.dataDir)}, and SQLite must write claudemesh.db-shm beside the database to read it.`,
      diskFix(fault, AGAIN, fault === "io" ? "" : " (the broker needs it too)"),
      { cause: err },
    );
  }
  if (errnoOf(err)) return fileError(err, where.db, "read", { what: "the broker database" });
  return new MeshError("internal", `Cannot read the broker database ${where.db}: ${(cause as Error)?.message ?? err.message}`, { cause: err });
}

/** For a default backup into backups/ that this user may not write in: it is another user's (a
 *  command run as root before claudemesh gave such directories back), so say how to give it back. */
function backupsFix(where: Where): Partial<Record<string, string>> | undefined {
  if (where.out) return undefined;
  const fix = giveBackFix(dirname(where.file), AGAIN);
  return { EACCES: fix, EPERM: fix };
}
