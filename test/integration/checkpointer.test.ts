// The background checkpointer (src/store/sqlite/checkpointer.ts, docs/decisions.md "Checkpoints
// off the event loop"): a worker thread copies committed WAL frames into the database file while
// the broker keeps writing; the broker's own connection checkpoints only past WAL_LIMIT_FRAMES, so
// the WAL stays bounded under writes that never pause; close() stops the thread first, so the
// broker's connection closes last and SQLite removes the WAL; a thread that cannot run hands
// checkpoints back to SQLite's default; a disk error, in a checkpoint or a WAL flush, stops it and
// fails the store; other failures are retried and reported once a minute. Real SQLite files, real
// worker threads (the real one, or fixtures that fail on purpose).
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Database } from "bun:sqlite";
import type { CheckpointerReport } from "../../src/store/sqlite/checkpoint-protocol.ts";
import { Checkpointer, WAL_LIMIT_FRAMES } from "../../src/store/sqlite/checkpointer.ts";
import { openDatabase } from "../../src/store/sqlite/open.ts";
import { WalSync } from "../../src/store/sqlite/wal-sync.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";
import { DEFAULT_DB_FILE, openSqliteStore } from "../../src/store/sqlite/open-store.ts";
import { scratchDir } from "../preload.ts";
import { startBroker } from "../helpers/broker.ts";
import { until } from "../helpers/cli.ts";

const open: SqliteStore[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

async function backgroundStore(reports: CheckpointerReport[] = [], synchronous: "full" | "normal" = "full", checkpointWorker?: string) {
  const dataDir = scratchDir("cm-ckpt-");
  const store = await openSqliteStore({ dataDir, synchronous, checkpoints: "background", onCheckpointReport: (r) => reports.push(r), checkpointWorker });
  open.push(store);
  return { store, dataDir, db: join(dataDir, DEFAULT_DB_FILE) };
}

const closeStore = (s: SqliteStore) => {
  open.splice(open.indexOf(s), 1);
  s.close();
};
/** A PRAGMA's current value on this connection. */
/** A Checkpointer beside a fresh database's connection, its reports collected, closed after `body`.
 *  Its thread opens `threadPath(dir)` (default: that database) and runs `worker` (a fixture) if given. */
async function withCheckpointer(body: (t: { db: Database; checkpointer: Checkpointer; reports: CheckpointerReport[] }) => Promise<void>, opts: { threadPath?: (dir: string) => string; worker?: string } = {}) {
  const dir = scratchDir("cm-ckpt-thread-");
  const db = openDatabase(join(dir, "broker.db"), { synchronous: "normal" });
  const reports: CheckpointerReport[] = [];
  const checkpointer = new Checkpointer(db, opts.threadPath?.(dir) ?? join(dir, "broker.db"), (r) => reports.push(r), opts.worker);
  try {
    await body({ db, checkpointer, reports });
  } finally {
    checkpointer.close();
    db.close();
  }
}

const pragma = (db: Database, name: string) => Object.values(db.query(`PRAGMA ${name}`).get() as Record<string, number>)[0];
/** Bytes of one WAL frame: a 24-byte header and a page. */
const frameBytes = (s: SqliteStore) => 24 + pragma(s.db, "page_size")!;

describe("background checkpointer", () => {
  test("copies committed frames into the database file while the broker's connection never checkpoints them", async () => {
    const reports: CheckpointerReport[] = [];
    const { store, db } = await backgroundStore(reports);
    expect(pragma(store.db, "wal_autocheckpoint")).toBe(WAL_LIMIT_FRAMES);
    expect(pragma(store.db, "journal_size_limit")).toBe(64 * 1024 * 1024); // a WAL a long reader let grow is cut back
    await until(() => store.checkpointStats()!.checkpoints >= 1, "the first checkpoint"); // the migration and epoch
    const before = statSync(db).size;
    // ~400 new pages: well under the broker connection's own threshold.
    for (let i = 0; i < 200; i++) await store.setMeta(`k${i}`, "x".repeat(6000));
    // Only a checkpoint grows the database file, and the broker's connection made none.
    await until(() => statSync(db).size > before + 200 * 5000, "the pages copied into the database file");
    expect(store.checkpointStats()).toMatchObject({ failures: 0, running: true });
    expect(reports).toEqual([]);
  });

  test("writes that never pause keep the WAL bounded: past the limit the broker's connection catches up and the WAL starts over", async () => {
    const { store, db } = await backgroundStore([], "normal"); // no flush to wait for: faster
    const frames = WAL_LIMIT_FRAMES * 4;
    let largest = 0;
    // One page per commit, back to back: the thread's PASSIVE checkpoints never catch up alone.
    for (let i = 0; i < frames; i++) {
      await store.setMeta("counter", String(i));
      if (i % 500 === 0) largest = Math.max(largest, statSync(`${db}-wal`).size);
    }
    largest = Math.max(largest, statSync(`${db}-wal`).size);
    const { checkpoints, busy } = store.checkpointStats()!;
    expect(checkpoints + busy).toBeGreaterThan(0); // the thread ran (beside the connection's own, some are "busy")
    // Without the connection's own threshold the WAL would hold all `frames` frames. With it, the
    // WAL starts over past the limit, plus what is written while the thread's checkpoint holds
    // SQLite's checkpoint lock (the connection's own attempt then waits for the next commit):
    // here ~3,000 frames, since nothing paces these commits.
    expect(largest).toBeLessThan(WAL_LIMIT_FRAMES * 2 * frameBytes(store));
    expect(await store.getMeta("counter")).toBe(String(frames - 1));
  }, 60_000);

  test("close stops the thread first: the broker's connection closes last, SQLite removes the WAL, and everything written is there on reopening", async () => {
    const { store, dataDir, db } = await backgroundStore();
    for (let i = 0; i < 300; i++) await store.setMeta(`k${i}`, String(i));
    closeStore(store); // a checkpoint of these writes may be running in the thread right now
    expect({ wal: existsSync(`${db}-wal`), shm: existsSync(`${db}-shm`) }).toEqual({ wal: false, shm: false });
    const again = await openSqliteStore({ dataDir, synchronous: "full" });
    open.push(again);
    expect(await again.getMeta("k299")).toBe("299");
  });

  test("a thread that cannot open the database reports it, and checkpoints go back inside commits", () =>
    withCheckpointer(
      async ({ db, checkpointer, reports }) => {
        expect(pragma(db, "wal_autocheckpoint")).toBe(WAL_LIMIT_FRAMES);
        await until(() => reports.length > 0, "the thread's report");
        expect(reports.map((r) => r.kind)).toEqual(["stopped"]);
        expect(checkpointer.stats().running).toBe(false);
        expect(pragma(db, "wal_autocheckpoint")).toBe(1000);
      },
      { threadPath: (dir) => join(dir, "missing", "nothing.db") },
    ));

  test("a thread that crashes is reported the same way, and close() does not wait for it", () =>
    withCheckpointer(
      async ({ db, checkpointer, reports }) => {
        await until(() => reports.length > 0, "the crash report");
        expect(reports[0]).toMatchObject({ kind: "stopped", error: expect.stringContaining("crashed while loading") });
        expect(pragma(db, "wal_autocheckpoint")).toBe(1000);
        const t0 = performance.now();
        checkpointer.close();
        expect(performance.now() - t0).toBeLessThan(1000); // not the 5 s wait for a thread that is gone
      },
      { worker: "../test/fixtures/checkpoint-worker-crash.ts" },
    ));

  test("a disk error in a checkpoint fails the store stop, as a failed WAL flush does", async () => {
    const reports: CheckpointerReport[] = [];
    const { store } = await backgroundStore(reports, "full", "../test/fixtures/checkpoint-worker-disk-error.ts");
    const failure = await store.fatal;
    expect(failure.message).toBe("the broker's database could not be checkpointed to disk; the broker is stopping");
    expect(reports.map((r) => r.kind)).toEqual(["disk"]);
    await expect(store.setMeta("after", "x")).rejects.toMatchObject({ code: "unavailable" });
    expect(await store.getMeta("after")).toBeNull();
    expect((await store.health()).writable).toBe(false);
  });

  test("failed checkpoints are all counted but reported once a minute; the thread keeps the broker's checkpoints", () =>
    withCheckpointer(
      async ({ db, checkpointer, reports }) => {
        await until(() => checkpointer.stats().failures === 3, "three failures");
        await Bun.sleep(50); // the reports after the first arrive too
        expect(reports.map((r) => r.error)).toEqual(["SQLITE_FULL: database or disk is full (1)"]);
        expect(checkpointer.stats().running).toBe(true); // a failure is retried, not a reason to fall back
        expect(pragma(db, "wal_autocheckpoint")).toBe(WAL_LIMIT_FRAMES);
      },
      { worker: "../test/fixtures/checkpoint-worker-failing.ts" },
    ));

  test("a failed WAL flush stops the thread too: nothing is copied from a log the disk may have lost", async () => {
    const { store } = await backgroundStore([], "full");
    const realSync = WalSync.prototype.sync;
    WalSync.prototype.sync = () => Promise.reject(Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" }));
    try {
      await expect(store.setMeta("k", "v")).rejects.toMatchObject({ code: "unavailable" });
    } finally {
      WalSync.prototype.sync = realSync;
    }
    await store.fatal;
    expect(store.checkpointStats()!.running).toBe(false);
  });

  test("a broker counts the thread's checkpoints in /metrics", async () => {
    await using b = await startBroker();
    const ok = async () => Number(/broker_wal_checkpoints_total\{result="ok"\} (\d+)/.exec(await (await fetch(`${b.url}/metrics`)).text())?.[1] ?? -1);
    await until(async () => (await ok()) >= 1, "a counted checkpoint");
    expect(await ok()).toBeGreaterThanOrEqual(1);
    expect(b.logs.filter((l) => l.includes("checkpoint"))).toEqual([]);
  });
});
