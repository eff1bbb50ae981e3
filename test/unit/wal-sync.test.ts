// Pins the WAL flusher's group behaviour: a sync asked for while a flush runs waits for a fresh
// flush (the running one may predate the caller's write), and everyone who asks meanwhile shares
// that one flush. A failing flush rejects its waiters, and every flush after it: the kernel reports
// a writeback error once, so a later flush that succeeds would vouch for pages it may have dropped.
import { afterEach, expect, test } from "bun:test";
import { closeSync, fdatasync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WalSync } from "../../src/store/sqlite/wal-sync.ts";

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function walSync(datasync?: typeof fdatasync): { wal: WalSync; path: string } {
  const dir = mkdtempSync(join(tmpdir(), "cm-wal-"));
  dirs.push(dir);
  const path = join(dir, "x.db");
  writeFileSync(`${path}-wal`, "frames");
  return { wal: new WalSync(path, datasync), path };
}

test("callers during a running flush share the next one; later callers start afresh", async () => {
  const { wal } = walSync();
  const first = wal.sync();
  const second = wal.sync();
  const third = wal.sync();
  expect(second).toBe(third);
  expect(second).not.toBe(first);
  await Promise.all([first, second, third]);
  const fourth = wal.sync();
  expect(fourth).not.toBe(second);
  await fourth;
  wal.close();
});

test("a failed flush rejects its waiters", async () => {
  const { wal } = walSync();
  // The descriptor fails under it: closed, and replaced by a number no descriptor has (a closed
  // number may be reused at once by whatever the process opens next, and then fail otherwise).
  const held = wal as unknown as { fd: number };
  closeSync(held.fd);
  held.fd = 2 ** 31 - 1;
  await expect(wal.sync()).rejects.toThrow(/EBADF|bad file/i);
});

test("after a failed flush, a flush queued behind it and every later one fail too", async () => {
  // As Linux reports a writeback error: the fdatasync that meets it fails, the next ones succeed.
  let calls = 0;
  const eio = Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" });
  const { wal } = walSync(((fd: number, cb: (err: NodeJS.ErrnoException | null) => void) =>
    fdatasync(fd, (err) => cb(++calls === 1 ? eio : err))) as typeof fdatasync);
  const failing = wal.sync();
  const queued = wal.sync(); // asked for while the failing flush runs
  expect(await Promise.allSettled([failing, queued])).toEqual([
    { status: "rejected", reason: eio },
    { status: "rejected", reason: eio },
  ]);
  await expect(wal.sync()).rejects.toBe(eio);
  expect(calls).toBe(1); // nothing was flushed after the failure
  wal.close();
  expect(() => closeSync((wal as unknown as { fd: number }).fd)).toThrow(/EBADF|bad file/i); // close() closed it
});

test("close() waits for a running and a queued flush, then closes once; a later sync is refused", async () => {
  const { wal } = walSync();
  const running = wal.sync();
  const queued = wal.sync();
  wal.close();
  wal.close();
  await Promise.all([running, queued]);
  await expect(wal.sync()).rejects.toThrow(/closed/);
});
