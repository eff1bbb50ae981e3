// Private files: directory 0700, files 0600, written atomically (temp file in the same directory,
// fsync, rename), so a crash never leaves a half-written key file. A file that others can read is
// refused with the command that fixes it. Only claudemesh's own directories (the config dir and
// its subdirectories) are created or tightened to 0700; a file the user names (a backup) is written
// 0600 and its directory is left exactly as it is.
import { chmodSync, closeSync, fchmodSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync, existsSync, unlinkSync } from "node:fs";
import { dirname, join, basename } from "node:path";
import { randomBytes } from "node:crypto";

export class LocalFileError extends Error {
  override readonly name = "LocalFileError";
  constructor(
    message: string,
    readonly fix: string | null = null,
  ) {
    super(message);
  }
}

/** Creates one of claudemesh's own directories (and missing parents) with mode 0700, and
 *  tightens it if it exists. Never for a directory the user chose for a file: use writeUserFile.
 *  A shared directory (sticky bit, like /tmp) is refused rather than changed. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  if ((st.mode & 0o1000) !== 0) throw new LocalFileError(`${dir} is a shared directory (sticky bit); claudemesh keeps keys only in a directory of its own.`, "set CLAUDEMESH_CONFIG_DIR to a directory of your own (default ~/.claudemesh)");
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

/** Refuses a file or directory that group or others can read or write. */
export function assertPrivate(path: string): void {
  const st = statSync(path);
  if ((st.mode & 0o077) !== 0) {
    const mode = (st.mode & 0o777).toString(8);
    throw new LocalFileError(`${path} is readable by other users (mode ${mode}); it holds private keys.`, `chmod ${st.isDirectory() ? 700 : 600} ${path}`);
  }
}

/** Writes a file inside claudemesh's own directories: the directory is made private first. */
export function writePrivateFile(path: string, data: string | Uint8Array): void {
  ensurePrivateDir(dirname(path));
  writeAtomic0600(path, data);
}

/** Writes a file at a path the user chose (a backup): mode 0600 from its creation, atomically,
 *  without changing the directory's mode (it may be /tmp or a shared folder). Missing parent
 *  directories are created 0700; existing ones are left alone. */
export function writeUserFile(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeAtomic0600(path, data);
}

/** Temp file created exclusively (O_EXCL: no following a planted link) with mode 0600, fsync,
 *  rename over the target. The mode is set again on the descriptor in case the umask removed
 *  owner bits; it is never wider than 0600 at any moment. */
function writeAtomic0600(path: string, data: string | Uint8Array): void {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  const fd = openSync(tmp, "wx", 0o600);
  try {
    try {
      fchmodSync(fd, 0o600);
      writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    if (existsSync(tmp)) unlinkSync(tmp);
    throw err;
  }
}

/** Reads a private file; null if it does not exist. Throws LocalFileError if others can read it. */
export function readPrivateFile(path: string): string | null {
  if (!existsSync(path)) return null;
  assertPrivate(path);
  return readFileSync(path, "utf8");
}
