// Private files: directory 0700, files 0600, written atomically (temp file in the same directory,
// fsync, rename), so a crash never leaves a half-written key file. A file that others can read is
// refused with the command that fixes it.
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync, existsSync, unlinkSync } from "node:fs";
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

/** Creates the directory (and parents) with mode 0700; tightens an existing one we own. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
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

export function writePrivateFile(path: string, data: string | Uint8Array): void {
  ensurePrivateDir(dirname(path));
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  const fd = openSync(tmp, "w", 0o600);
  try {
    writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
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
