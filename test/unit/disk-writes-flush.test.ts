// DiskWrites.flushed: a flush is asked of the disk only when something was committed since the
// last one finished (pushes and hand-outs ask after every claim, most with nothing new); a commit
// made while a flush runs still gets a flush of its own.
import { afterEach, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { fdatasync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DiskWrites } from "../../src/store/sqlite/disk-writes.ts";
import { LockWatch } from "../../src/store/sqlite/lock-watch.ts";
import { WalSync } from "../../src/store/sqlite/wal-sync.ts";
import { openSqliteStore } from "../../src/store/sqlite/open-store.ts";
import { directMessage, pubkey, seedMesh } from "./store-fixtures.ts";

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

type Datasync = (fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => void;

function setup(datasync: Datasync = fdatasync) {
  const dir = mkdtempSync(join(tmpdir(), "cm-disk-writes-"));
  dirs.push(dir);
  const path = join(dir, "x.db");
  const db = new Database(path);
  db.run("PRAGMA journal_mode = WAL");
  db.run("CREATE TABLE t (x INTEGER)");
  let syncs = 0;
  const counting = ((fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => (syncs++, datasync(fd, cb))) as typeof fdatasync;
  const disk = new DiskWrites(new WalSync(path, counting), new LockWatch(db));
  const commit = () => disk.run(() => db.run("INSERT INTO t VALUES (1)"));
  return { disk, commit, syncs: () => syncs, close: () => disk.close(db) };
}

test("nothing committed since the last flush: answered without one", async () => {
  const { disk, commit, syncs, close } = setup();
  await disk.flushed();
  expect(syncs()).toBe(0);
  commit();
  await disk.flushed();
  expect(syncs()).toBe(1);
  await disk.flushed();
  await disk.flushed();
  expect(syncs()).toBe(1);
  close();
});

test("a commit made while a flush runs gets a flush that starts after it", async () => {
  const { disk, commit, syncs, close } = setup();
  commit();
  const first = disk.flushed();
  commit();
  const second = disk.flushed();
  await Promise.all([first, second]);
  expect(syncs()).toBe(2);
  await disk.flushed();
  expect(syncs()).toBe(2);
  close();
});

test("the store's narrower writes (commitSends, ackMany) count as commits: a flush after one syncs", async () => {
  // They committed past DiskWrites.run, so a flushed() after them, which their doc asks the
  // caller for, was answered at once with nothing synced.
  const dir = mkdtempSync(join(tmpdir(), "cm-disk-writes-"));
  dirs.push(dir);
  const store = await openSqliteStore({ dataDir: dir, synchronous: "full" });
  const realSync = WalSync.prototype.sync;
  let syncs = 0;
  WalSync.prototype.sync = function (this: WalSync) {
    syncs++;
    return realSync.call(this);
  };
  try {
    const { mesh, owner } = await seedMesh(store);
    const box = pubkey();
    syncs = 0;
    const [sent] = await store.commitSends([directMessage(owner, [box])], 0);
    await store.flushed();
    expect(syncs).toBe(1);
    await store.ackMany([{ meshId: mesh.id, mailbox: box, messageIds: [sent!.message.id] }], Date.now());
    await store.flushed();
    expect(syncs).toBe(2);
  } finally {
    WalSync.prototype.sync = realSync;
    store.close();
  }
});

test("flushes settle in the order they were asked for, whether answered at once or by a sync", async () => {
  // Pushes go out when their commit's flushed() settles (router.ts): a later commit's flush that
  // settled first would push a later message ahead of an earlier one on the same connection.
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  // Syncs of varied length, so that some asks find one running and some find none.
  const { disk, commit, close } = setup((fd, cb) => void setTimeout(() => fdatasync(fd, cb), Math.floor(random() * 3)));
  const settled: number[] = [];
  const asked: Promise<void>[] = [];
  for (let i = 0; i < 300; i++) {
    if (random() < 0.6) commit();
    asked.push(disk.flushed().then(() => void settled.push(i)));
    if (random() < 0.3) await new Promise((r) => setTimeout(r, Math.floor(random() * 3)));
  }
  await Promise.all(asked);
  const inversions = settled.flatMap((v, k) => (k > 0 && v < settled[k - 1]! ? [`${settled[k - 1]} before ${v}`] : []));
  expect(inversions).toEqual([]);
  expect(settled.length).toBe(300);
  close();
});

test("an ask made after close is refused as a stop: the asks already waiting still get their flush, and nothing is called a disk failure", async () => {
  const slow: Datasync = (fd, cb) => setTimeout(() => fdatasync(fd, cb), 30);
  const { disk, commit, close } = setup(slow);
  commit();
  const waiting = disk.flushed();
  commit();
  close();
  const late = disk.flushed();
  expect(await late.then(() => "flushed", (e: { code?: string; message: string }) => `${e.code}: ${e.message}`)).toStartWith("unavailable: the broker is stopping");
  expect(await waiting.then(() => "flushed", (e: Error) => e.message)).toBe("flushed");
  expect(await Promise.race([disk.fatal.then((e) => e.message), Bun.sleep(100).then(() => "not settled")])).toBe("not settled");
});
