// The backup `admin restore` is given is opened once (src/broker/restore-source.ts): its kind is
// judged on that descriptor and the bytes installed come from it, so a named pipe put at its path
// after the first look is refused at once instead of being opened by SQLite, which waits for a
// writer (with the data directory locked). The swap is made at the exact moment in between: when
// the restore has stat'ed the path (fs.statSync spied). Before, the restore only went on when a
// writer opened the pipe (here, a helper after 5 s) and then failed on what came through it.
import { afterEach, expect, spyOn, test } from "bun:test";
import * as fs from "node:fs";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { restoreDataDir } from "../../src/broker/maintenance.ts";
import { admin, dataDirWithDatabase } from "../helpers/admin.ts";
import { mkfifo } from "../helpers/special-files.ts";
import { tempDir } from "../helpers/temp-dir.ts";

afterEach(() => {
  (fs.statSync as { mockRestore?: () => void }).mockRestore?.();
});

test("a backup swapped for a named pipe after its kind was checked is refused at once, nothing changed", async () => {
  const backup = join(tempDir("cm-swap-bk-"), "b.db");
  expect((await admin(["backup", "--data-dir", await dataDirWithDatabase(), "--out", backup])).code).toBe(0);
  const dataDir = await dataDirWithDatabase();
  const before = readdirSync(dataDir).sort();
  const stat = fs.statSync;
  let swapped = false;
  spyOn(fs, "statSync").mockImplementation(((path: string, opts?: fs.StatSyncOptions) => {
    const st = stat(path, opts);
    if (path === backup && !swapped) {
      swapped = true;
      rmSync(backup);
      mkfifo(backup);
    }
    return st;
  }) as typeof stat);
  // Lets a restore that opened the pipe by path go on (it would wait for good otherwise).
  const writer = Bun.spawn(["sh", "-c", `sleep 5; : > '${backup}'`], { stdout: "ignore", stderr: "ignore" });
  const started = performance.now();
  try {
    const failed = await restoreDataDir(dataDir, backup, { force: true }).then(
      () => null,
      (e: Error & { code?: string }) => e,
    );
    expect({ swapped, code: failed?.code, message: failed?.message, fast: performance.now() - started < 4_000, files: readdirSync(dataDir).sort() }).toEqual({
      swapped: true,
      code: "invalid_argument",
      message: `${backup} is a named pipe (FIFO); give the backup file itself (the .db file \`claudemesh admin backup\` printed).`,
      fast: true,
      files: before,
    });
  } finally {
    writer.kill("SIGKILL");
  }
}, 60_000);

test("a named pipe where the backup's -wal belongs is refused (exit 2) before the data directory is touched", async () => {
  const backup = join(tempDir("cm-swap-bk-"), "b.db");
  expect((await admin(["backup", "--data-dir", await dataDirWithDatabase(), "--out", backup])).code).toBe(0);
  mkfifo(`${backup}-wal`);
  const dataDir = await dataDirWithDatabase();
  const before = readdirSync(dataDir).sort();
  const r = await admin(["restore", backup, "--force", "--data-dir", dataDir], { timeoutMs: 15_000 });
  expect({ code: r.code, stderr: r.stderr, files: readdirSync(dataDir).sort() }).toEqual({
    code: 2,
    stderr: `claudemesh: ${backup}-wal is a named pipe (FIFO), where the backup's write-ahead log belongs: move it away, then run the restore again.\n`,
    files: before,
  });
}, 60_000);
