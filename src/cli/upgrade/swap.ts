// The installed binary and its replacement: how it was installed, whether its directory may be
// written, and the swap itself. The path `claudemesh` is never missing, not even for an instant:
// the old binary is hard-linked to `<name>.prev` first, then the verified new one is renamed over
// it (one atomic rename in one directory). Processes already running keep the old inode.
import { accessSync, chmodSync, chownSync, closeSync, constants, existsSync, fsyncSync, linkSync, copyFileSync, openSync, realpathSync, renameSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { Exit } from "../../protocol/errors.ts";
import { CommandError } from "../output.ts";
import { fileError } from "../../local-file/error.ts";

/** The running claudemesh: its real path (symbolic links resolved, so a Homebrew link names its
 *  Cellar), and how it came there. "source": `bun run src/main.ts`, no binary of ours to
 *  replace; "homebrew": under a Cellar/claudemesh/ directory, Homebrew's to replace; "script":
 *  any other compiled claudemesh, as install.sh leaves it (a release asset renamed). */
export type Installed = { path: string; dir: string; name: string; how: "script" | "homebrew" | "source" };

export function installed(execPath = process.execPath, main = Bun.main): Installed {
  const path = realpathSync(execPath);
  // A compiled executable runs its code from Bun's embedded file system.
  const compiled = main.startsWith("/$bunfs/") || main.startsWith("B:/~BUN/");
  const how = !compiled ? "source" : /\/Cellar\/claudemesh\//.test(path) ? "homebrew" : "script";
  return { path, dir: dirname(path), name: basename(path), how };
}

/** Refuses (exit 5) to replace a binary that is not ours to replace, with what to run instead. */
export function refuseUnlessScript(bin: Installed): void {
  if (bin.how === "homebrew") {
    throw new CommandError("installed_by_homebrew", `${bin.path} was installed by Homebrew, which replaces it itself; nothing was changed`, Exit.refused, "brew upgrade claudemesh (then restart the broker, if it runs here: brew services restart claudemesh)");
  }
  if (bin.how === "source") {
    throw new CommandError("not_a_release_binary", `claudemesh is running from source (${Bun.main}), not as a release binary; nothing was changed`, Exit.refused, "update the checkout (git pull && bun install), or install a release: curl -fsSL https://github.com/claudemesh/claudemesh/releases/latest/download/install.sh | sh");
  }
}

/** Refuses (exit 3) when `bin`'s directory cannot be written, before anything is downloaded,
 *  with the command that runs this as root: never run here (sudo asks for a password, and an
 *  upgrade should not escalate by itself). sudo drops the environment, so a download root goes
 *  through env. */
export function checkWritable(bin: Installed, argv: string[], downloadRoot: string | null): void {
  try {
    accessSync(bin.dir, constants.W_OK);
  } catch {
    const env = downloadRoot ? `env CLAUDEMESH_DOWNLOAD_URL=${quote(downloadRoot)} ` : "";
    throw new CommandError("not_writable", `${bin.dir} is not writable by this user, so ${bin.path} cannot be replaced; claudemesh never runs sudo itself, and nothing was changed`, Exit.auth, `sudo ${env}${quote(bin.path)} ${argv.map(quote).join(" ")}`.trimEnd());
  }
}

const quote = (word: string) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`);

/** Where the new binary is written and tried before it replaces `bin`: beside it (the rename
 *  must not cross file systems, and /tmp may be mounted noexec), hidden. */
export const stagePath = (bin: Installed) => join(bin.dir, `.${bin.name}.new.${process.pid}`);

/** Where the binary replaced by the last upgrade or rollback is kept. */
export const prevPath = (bin: Installed) => join(bin.dir, `${bin.name}.prev`);

/** What `file --version` prints (`claudemesh 1.2.3`); refuses (exit 5) a file that does not run
 *  here (another CPU's build, a missing library), saying which and that nothing was changed. */
export function versionOf(file: string): string {
  const r = Bun.spawnSync([file, "--version"], { stdout: "pipe", stderr: "pipe", timeout: 30_000 });
  const printed = r.stdout.toString().trim();
  if (r.exitCode === 0 && /^claudemesh \S+$/.test(printed)) return printed.slice("claudemesh ".length);
  const said = `${printed}\n${r.stderr.toString()}`.trim().split("\n").slice(0, 3).join(" / ");
  throw new CommandError("does_not_run", `${file} does not run on this machine (exit ${r.exitCode ?? r.signalCode}${said ? `: ${said}` : ""}); nothing was changed`, Exit.refused, "report it with the output of `claudemesh version --json`: https://github.com/claudemesh/claudemesh/issues");
}

/** versionOf the verified download at `staged` (written 0600: it becomes runnable only once its
 *  checksum matched). */
export function tryStaged(staged: string): string {
  chmodSync(staged, 0o700);
  return versionOf(staged);
}

/** Puts the verified `staged` file in `bin`'s place, keeping the old one as `<name>.prev` (an
 *  earlier .prev is replaced). `staged` takes `bin`'s mode (and owner, as root). */
export function replace(bin: Installed, staged: string): void {
  const was = statSync(bin.path);
  chmodSync(staged, was.mode & 0o7777);
  if (process.getuid?.() === 0) chownSync(staged, was.uid, was.gid);
  keepAside(bin.path, prevPath(bin));
  onDir(bin, () => renameSync(staged, bin.path));
  syncDir(bin.dir);
}

/** `<name>.prev`, or a refusal (exit 4) when there is none. */
export function existingPrev(bin: Installed): string {
  const prev = prevPath(bin);
  if (existsSync(prev)) return prev;
  throw new CommandError("no_previous", `There is no ${prev} to roll back to (claudemesh upgrade keeps one when it replaces a binary); nothing was changed`, Exit.notFound, "claudemesh upgrade --version <version> installs a given release");
}

/** Puts `<name>.prev` back in `bin`'s place and keeps the binary it replaces as the new .prev, so
 *  a second rollback undoes the first. Refuses (exit 4) when there is no .prev. */
export function rollBack(bin: Installed): void {
  const prev = existingPrev(bin);
  const aside = join(bin.dir, `.${bin.name}.rollback.${process.pid}`);
  keepAside(bin.path, aside);
  onDir(bin, () => renameSync(prev, bin.path));
  onDir(bin, () => renameSync(aside, prev));
  syncDir(bin.dir);
}

/** `from` also at `to` (replacing it) while `from` stays where it is: a hard link, so the kept
 *  binary is the very file that was running; a copy where the file system has no hard links. */
function keepAside(from: string, to: string): void {
  const tmp = `${to}.tmp.${process.pid}`;
  rmSync(tmp, { force: true });
  onDir({ dir: dirname(to) }, () => {
    try {
      linkSync(from, tmp);
    } catch {
      copyFileSync(from, tmp);
    }
    renameSync(tmp, to);
  });
}

function onDir<T>(bin: { dir: string }, work: () => T): T {
  try {
    return work();
  } catch (err) {
    throw fileError(err, bin.dir, "write", { what: "the install directory" });
  }
}

/** Makes the renames durable: a crash right after the command returns must not bring back the
 *  old directory entry. Best effort (not every file system lets a directory be fsynced). */
function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {}
}
