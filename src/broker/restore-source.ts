// The backup file `admin restore` is given, opened once: its kind is judged on the descriptor
// (fstat), and the bytes installed are copied from that same descriptor, so nothing put at its
// path after the check (a named pipe, whose open by path would wait for a writer forever with the
// data directory locked, or another file) is read. SQLite never opens the backup itself, only the
// copy (maintenance.ts restoreLocked). The file's -wal (a database copied from a killed broker, or
// one a restore moved aside) is opened and copied the same way, since what only it holds would be
// lost without it. A rollback journal beside it means the file was left mid-write: it is refused.
// The path may be a symbolic link: the user named it (only `serve`'s own files are never followed).
import { closeSync, constants, fstatSync, openSync, readSync, writeSync, type Stats } from "node:fs";
import { MeshError } from "../protocol/errors.ts";
import { onFile, statIfAny } from "../local-file/error.ts";
import { notFileKind } from "../store/sqlite/db-path-shape.ts";
import { openOwnFile } from "../store/sqlite/own-file.ts";

/** A backup opened for a restore: its path, and copyTo, which writes its bytes (and its -wal's,
 *  as `<to>-wal`) into new files. Close it when done. */
export type BackupSource = { path: string; copyTo(to: string): void; close(): void };

type Opened = { fd: number; st: Stats };

/** Bytes copied per read: large enough that a backup of gigabytes takes few system calls. */
const COPY_CHUNK_BYTES = 1 << 20;

/** The refusal of what stands at `path`: the backup file itself, or its -wal. */
const notAFile = (path: string, st: Stats, wal: boolean) =>
  new MeshError(
    "invalid_argument",
    wal
      ? `${path} is ${notFileKind(st)}, where the backup's write-ahead log belongs: move it away, then run the restore again.`
      : `${path} is ${notFileKind(st)}; give the backup file itself (the .db file \`claudemesh admin backup\` printed).`,
  );

/** `path` opened for reading without waiting on a FIFO, and its fstat; null when nothing is
 *  there. Anything but a regular file is refused as MeshError invalid_argument: by a look before
 *  opening (opening a device can act on it), then by the descriptor's fstat (what is used). */
function openRegular(path: string, wal: boolean): Opened | null {
  const ctx = { what: "the backup" };
  const found = statIfAny(path, ctx);
  if (!found) return null;
  if (!found.isFile()) throw notAFile(path, found, wal);
  const fd = onFile(path, "read", () => openSync(path, constants.O_RDONLY | constants.O_NONBLOCK), ctx);
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    throw notAFile(path, st, wal);
  }
  return { fd, st };
}

/** Copies everything `from` holds into the new file `to` (0600, created exclusively, never
 *  through a link: openOwnFile). Throws the file system's error (a full disk). */
function copyInto(from: Opened, to: string): void {
  const out = openOwnFile(to, { exclusive: true });
  try {
    const buf = Buffer.allocUnsafe(COPY_CHUNK_BYTES);
    for (let at = 0; ; ) {
      const n = readSync(from.fd, buf, 0, buf.length, at);
      if (n === 0) break;
      for (let done = 0; done < n; ) done += writeSync(out, buf, done, n - done, at + done);
      at += n;
    }
  } finally {
    closeSync(out);
  }
}

/** Whether the file behind `o` changed since it was opened (a backup still being written). The
 *  change time too: a writer that keeps the size and sets the modification time back (`cp -p`,
 *  `rsync --inplace`, `touch -r`) cannot set it back. */
const changed = (o: Opened) => {
  const now = fstatSync(o.fd);
  return now.size !== o.st.size || now.mtimeMs !== o.st.mtimeMs || now.ctimeMs !== o.st.ctimeMs;
};

/** Refuses a backup with a rollback journal beside it: its writer was killed mid-transaction
 *  (the file a `cp` of a database in rollback-journal mode can catch), so some of its pages are
 *  the transaction's, and only SQLite rolling the journal back, in place, makes it whole. A copy
 *  of the file alone would be installed half-written. An empty journal is not hot. */
function refuseJournal(path: string): void {
  const journal = `${path}-journal`;
  const st = statIfAny(journal, { what: "the backup" });
  if (!st || (st.isFile() && st.size === 0)) return;
  throw new MeshError(
    "invalid_argument",
    st.isFile()
      ? `${journal} is a rollback journal: ${path} was left in the middle of a write, and only rolling that journal back makes it whole. Open it once with SQLite where it is (for example sqlite3 ${path} 'PRAGMA integrity_check'), then run the restore again; or restore another backup.`
      : `${journal} is ${notFileKind(st)}, where the backup's rollback journal belongs: move it away, then run the restore again.`,
  );
}

/** Opens the backup `path` (absolute) and its -wal, if any. Throws MeshError not_found when
 *  nothing is there, invalid_argument for anything but a regular file (a directory, FIFO, socket
 *  or device) and for a backup beside a rollback journal, LocalFileError for one that cannot be
 *  read. copyTo throws MeshError unavailable when the backup changed while it was copied. */
export function openBackup(path: string): BackupSource {
  const db = openRegular(path, false);
  if (!db) throw new MeshError("not_found", `No such backup file: ${path}`);
  let wal: Opened | null;
  try {
    refuseJournal(path);
    wal = openRegular(`${path}-wal`, true);
  } catch (err) {
    closeSync(db.fd);
    throw err;
  }
  return {
    path,
    copyTo(to) {
      copyInto(db, to);
      if (wal) copyInto(wal, `${to}-wal`);
      if (changed(db) || (wal && changed(wal))) {
        throw new MeshError("unavailable", `${path} changed while it was being copied (is something still writing it?); nothing was changed. Run the restore again once it is complete.`);
      }
    },
    close() {
      for (const o of [db, wal]) if (o) closeSync(o.fd);
    },
  };
}
