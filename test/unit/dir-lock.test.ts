// Pins the data-directory lock (src/store/sqlite/dir-lock.ts; docs/operations.md "Files in the
// data directory", "Durability"): `claudemesh.lock` is created 0600 in a 0700 directory (and a
// wider mode left on it is narrowed), holding it writes no `-journal` beside it, a second process
// is refused, and the kernel frees it when the holder dies, or when its holder releases it. A lock
// file holding stray bytes is not "held": it is emptied in place and used; a directory in its
// place is a LockFileError, never a silent "held". Other holders are real processes: the lock is
// an fcntl lock, and a process keeps what it takes until it exits or releases it.
import { describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { dataDirLocked, LOCK_FILE, LockFileError, lockDataDir, unlockDataDir } from "../../src/store/sqlite/dir-lock.ts";
import { scratchDir } from "../preload.ts";

const MODULE = resolve(import.meta.dir, "../../src/store/sqlite/dir-lock.ts");

/** A process that calls lockDataDir(dataDir), prints the answer and stays alive until killed. */
async function lockInChild(dataDir: string): Promise<{ locked: boolean; proc: Bun.Subprocess<"ignore", "pipe", "pipe">; [Symbol.asyncDispose](): Promise<void> }> {
  const script = `const { lockDataDir } = await import(${JSON.stringify(MODULE)});
console.log(lockDataDir(${JSON.stringify(dataDir)}));
setInterval(() => {}, 1 << 30);`;
  const proc = Bun.spawn([process.execPath, "-e", script], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let out = "";
  for await (const chunk of proc.stdout) {
    out += new TextDecoder().decode(chunk);
    if (out.includes("\n")) break;
  }
  if (!/^(true|false)\n/.test(out)) throw new Error(`lock child said ${JSON.stringify(out)}: ${await new Response(proc.stderr).text()}`);
  return {
    locked: out.startsWith("true"),
    proc,
    async [Symbol.asyncDispose]() {
      proc.kill("SIGKILL");
      await proc.exited;
    },
  };
}

const mode = (path: string) => statSync(path).mode & 0o777;

describe("lockDataDir", () => {
  test("creates the directory 0700 and claudemesh.lock 0600, writes no -journal, refuses a second process, and is freed when its holder dies", async () => {
    const dataDir = join(scratchDir("cm-lock-"), "data");
    await using holder = await lockInChild(dataDir);
    expect(holder.locked).toBe(true);
    expect(mode(dataDir)).toBe(0o700);
    expect(mode(join(dataDir, LOCK_FILE))).toBe(0o600);
    expect(readdirSync(dataDir)).toEqual([LOCK_FILE]);

    await using second = await lockInChild(dataDir);
    expect(second.locked).toBe(false);
    expect(dataDirLocked(dataDir)).toBe(true);
    expect(readdirSync(dataDir)).toEqual([LOCK_FILE]);

    holder.proc.kill("SIGKILL"); // no cleanup runs: the kernel drops the lock
    await holder.proc.exited;
    expect(dataDirLocked(dataDir)).toBe(false);
    await using third = await lockInChild(dataDir);
    expect(third.locked).toBe(true);
    expect(readdirSync(dataDir)).toEqual([LOCK_FILE]);
  });

  test("a lock file left readable by others is narrowed to 0600", async () => {
    const dataDir = scratchDir("cm-lock-");
    const path = join(dataDir, LOCK_FILE);
    writeFileSync(path, "");
    chmodSync(path, 0o644);
    await using holder = await lockInChild(dataDir);
    expect(holder.locked).toBe(true);
    expect(mode(path)).toBe(0o600);
  });

  test("dataDirLocked on a directory never locked is false and creates nothing", () => {
    const dataDir = scratchDir("cm-lock-");
    expect(dataDirLocked(dataDir)).toBe(false);
    expect(readdirSync(dataDir)).toEqual([]);
  });

  test("a lock file holding stray bytes is not held: it is emptied in place and locks as usual", async () => {
    const dataDir = scratchDir("cm-lock-");
    const path = join(dataDir, LOCK_FILE);
    writeFileSync(path, "not a database ".repeat(64), { mode: 0o600 });
    const inode = statSync(path).ino;
    expect(dataDirLocked(dataDir)).toBe(false);
    await using holder = await lockInChild(dataDir);
    expect(holder.locked).toBe(true);
    expect({ size: statSync(path).size, inode: statSync(path).ino }).toEqual({ size: 0, inode });
    await using second = await lockInChild(dataDir);
    expect(second.locked).toBe(false);
    expect(dataDirLocked(dataDir)).toBe(true);
  });

  test("a directory where the lock file belongs is a LockFileError saying so, for lockDataDir and dataDirLocked", () => {
    const dataDir = scratchDir("cm-lock-");
    mkdirSync(join(dataDir, LOCK_FILE));
    const message = `${join(dataDir, LOCK_FILE)} is a directory; claudemesh needs a file there for its lock: move it away and start again.`;
    expect(() => lockDataDir(dataDir)).toThrow(new LockFileError(message));
    expect(() => dataDirLocked(dataDir)).toThrow(new LockFileError(message));
  });

  test("unlockDataDir releases a lock this process took, and another process can take it", async () => {
    const dataDir = scratchDir("cm-lock-");
    expect(lockDataDir(dataDir)).toBe(true);
    try {
      await using refused = await lockInChild(dataDir);
      expect(refused.locked).toBe(false);
    } finally {
      unlockDataDir(dataDir);
    }
    await using taker = await lockInChild(dataDir);
    expect(taker.locked).toBe(true);
    unlockDataDir(dataDir); // holds nothing now: a no-op
    expect(dataDirLocked(dataDir)).toBe(true);
  });
});
