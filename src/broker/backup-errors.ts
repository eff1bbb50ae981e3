// What a failed `admin backup` says, and its exit code. The file it is about comes first: the
// broker database it reads (which must be readable, and whose directory SQLite writes its -shm
// in), or the copy it writes. Then why, in words (never "unable to open database file"), and a fix
// that fits a backup ("run the backup again", not serve's "start again").
import { dirname } from "node:path";
import { MeshError } from "../protocol/errors.ts";
import { DataFileError } from "../store/sqlite/data-file.ts";
import { lowOnSpace } from "../store/sqlite/open.ts";
import { errnoOf, fileError, LocalFileError } from "../local-file/error.ts";

type Where = { db: string; file: string; dataDir: string; out: boolean };

const codeOf = (err: unknown) => String((err as { code?: unknown } | null)?.code ?? "");

/** A full, over-quota or failing disk, from Node's errno or SQLite's result code; null otherwise.
 *  An I/O error with almost no space left is a full disk (SQLite says "disk I/O error" for a -shm
 *  it cannot extend). */
function diskState(cause: unknown, dir: string): "full" | "quota" | "io" | null {
  const code = codeOf(cause);
  if (code === "ENOSPC" || code === "SQLITE_FULL") return "full";
  if (code === "EDQUOT") return "quota";
  if (code === "EIO" || code.startsWith("SQLITE_IOERR")) return lowOnSpace(dir) ? "full" : "io";
  return null;
}

const DISK = {
  full: (dir: string) => `the disk holding ${dir} is full`,
  quota: (dir: string) => `the disk quota for ${dir} is used up`,
  io: (dir: string) => `the disk holding ${dir} reported an I/O error`,
};

/** `err` (from snapshotFile or around it) as what the CLI prints. See the header for the codes. */
export function backupFailure(err: unknown, where: Where): unknown {
  if (err instanceof MeshError || err instanceof LocalFileError) return err;
  if (!(err instanceof DataFileError)) return fileError(err, where.file, "write", { what: "the backup" });
  const cause = err.cause;
  if (err.side === "check") {
    return new MeshError("internal", `The copy ${where.file}.partial was written but fails SQLite's integrity check (${err.message}); it is kept for inspection. Check the broker database with claudemesh serve --check (broker stopped), then run the backup again.`, { cause: err });
  }
  if (err.side === "source") return sourceFailure(err, cause, where);
  const dir = dirname(where.file);
  const disk = diskState(cause, dir);
  if (disk) {
    const other = where.out ? ", or give another --out" : "";
    const fix = disk === "io" ? `check the disk (dmesg, SMART)${other}, then run the backup again` : `free space there${other}, then run the backup again`;
    return new LocalFileError(`Cannot write the backup ${where.file}: ${DISK[disk](dir)}.`, fix, { cause: err });
  }
  // Only a backup to the same name, started meanwhile, makes the .partial appear after the check.
  if (errnoOf(err)?.code === "EEXIST") return new MeshError("conflict", `Another backup is writing ${where.file} (its .partial appeared meanwhile); choose another name.`, { cause: err });
  if (errnoOf(err)) return fileError(err, where.file, "write", { what: "the backup", fix: backupsFix(where) });
  if (cause === undefined) return new MeshError("conflict", `${where.file} exists; backups never overwrite. Choose another name.`, { cause: err });
  return new MeshError("internal", `Cannot write the backup ${where.file}: ${(cause as Error)?.message ?? err.message}`, { cause: err });
}

/** The broker database could not be read: busy (may pass: 6), damaged or on a full disk (5). */
function sourceFailure(err: DataFileError, cause: unknown, where: Where): unknown {
  const code = codeOf(cause);
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) {
    return new MeshError("unavailable", `The broker database ${where.db} stayed locked for 5 s (another process holds its write lock); run the backup again.`, { cause: err });
  }
  if (/^SQLITE_(CORRUPT|NOTADB)/.test(code)) {
    return new LocalFileError(
      `The broker database ${where.db} is damaged (${(cause as Error).message}); a copy of it would not restore.`,
      "stop the broker, confirm with claudemesh serve --check, and restore the latest good backup (claudemesh admin restore FILE --force)",
      { cause: err },
    );
  }
  const disk = diskState(cause, where.dataDir);
  if (disk) {
    return new LocalFileError(
      `Cannot back up the broker database ${where.db}: ${DISK[disk](where.dataDir)}, and SQLite must write claudemesh.db-shm beside the database to read it.`,
      disk === "io" ? "check the disk (dmesg, SMART), then run the backup again" : "free space there (the broker needs it too), then run the backup again",
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
  const dir = dirname(where.file);
  const me = process.getuid?.();
  const fix = me === undefined ? undefined : `as root: chown -R ${me}:${process.getgid?.()} ${dir} (it was made by a command run as root), then run the backup again`;
  return fix ? { EACCES: fix, EPERM: fix } : undefined;
}
