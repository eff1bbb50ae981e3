// The backup a restore copies is refused when it changed while it was copied: it is still being
// written, and what was copied may be half of it. Real files; the change is made between opening
// and copying, which is when a writer would make it.
import { afterEach, expect, test } from "bun:test";
import { appendFileSync, existsSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openBackup } from "../../src/broker/restore-source.ts";

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function backupFile() {
  const dir = mkdtempSync(join(tmpdir(), "cm-restore-source-"));
  dirs.push(dir);
  const path = join(dir, "backup.db");
  writeFileSync(path, Buffer.alloc(8192, 1));
  return { path, to: join(dir, "copy.db") };
}

const copied = (path: string, to: string, meanwhile: () => void) => {
  const source = openBackup(path);
  try {
    meanwhile();
    source.copyTo(to);
    return "copied";
  } catch (e) {
    return `${(e as { code?: string }).code}: ${(e as Error).message}`;
  } finally {
    source.close();
  }
};

test("unchanged: copied byte for byte", () => {
  const { path, to } = backupFile();
  expect(copied(path, to, () => {})).toBe("copied");
  expect(statSync(to).size).toBe(8192);
});

test("grown while copied: refused as unavailable", () => {
  const { path, to } = backupFile();
  expect(copied(path, to, () => appendFileSync(path, "more"))).toBe(`unavailable: ${path} changed while it was being copied (is something still writing it?); nothing was changed. Run the restore again once it is complete.`);
});

test("rewritten in place with its size and modification time kept: refused too (the change time moved)", async () => {
  const { path, to } = backupFile();
  const at = 1_700_000_000; // a whole second, which utimes sets back exactly
  utimesSync(path, at, at);
  await Bun.sleep(20); // past the file system's timestamp granularity
  expect(
    copied(path, to, () => {
      writeFileSync(path, Buffer.alloc(8192, 2));
      utimesSync(path, at, at);
      expect(statSync(path)).toMatchObject({ size: 8192, mtimeMs: at * 1000 });
    }),
  ).toStartWith("unavailable: ");
  // The copy is the caller's to remove (maintenance.ts removes its staged files).
  expect(existsSync(to)).toBe(true);
});
