// Pins how openSqliteStore wires the WAL flush (store.ts, wal-sync.ts; docs/operations.md
// "Durability"): with synchronous "full" the store holds its own descriptor on `-wal`, and
// flushed() and every write resolve only after a WalSync.sync() (an fdatasync) that covers them
// has; with "normal" there is no WalSync at all; close() releases the descriptor. The last test
// records a bug: a write whose flush is queued behind a running one when close() is called is
// rejected.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { MeshError } from "../../src/protocol/errors.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";
import { openSqliteStore } from "../../src/store/sqlite/open-store.ts";
import { WalSync } from "../../src/store/sqlite/wal-sync.ts";
import { scratchDir } from "../preload.ts";
import { holdSyncs } from "../helpers/wal.ts";

const open: SqliteStore[] = [];
const realSync = WalSync.prototype.sync;
afterEach(() => {
  WalSync.prototype.sync = realSync; // also after a test that timed out inside holdSyncs()
  for (const s of open.splice(0)) s.close();
});

/** Closes a store once (a second close would close its WAL descriptor number again, which by
 *  then may belong to another file). */
function close(s: SqliteStore) {
  const i = open.indexOf(s);
  if (i >= 0) open.splice(i, 1);
  s.close();
}

async function store(synchronous: "full" | "normal", dataDir = scratchDir("cm-walflush-")) {
  const s = await openSqliteStore({ dataDir, synchronous });
  open.push(s);
  return { s, dataDir };
}

/** Whether `p` has settled by the next macrotask. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await Bun.sleep(0);
  return done;
}

/** Open descriptors of this process on `<dataDir>/claudemesh.db-wal` (Linux /proc), including
 *  one on the file SQLite deletes when its last connection closes. */
const walDescriptors = (dataDir: string) =>
  readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).replace(/ \(deleted\)$/, "") === join(dataDir, "claudemesh.db-wal");
    } catch {
      return false;
    }
  }).length;

describe("synchronous full", () => {
  test("flushed() and a write resolve only after the WalSync flush that covers them, shared", async () => {
    const { s } = await store("full");
    using held = holdSyncs();
    const write = s.setMeta("k", "v");
    const flushed = s.flushed(); // nothing committed since the write's flush was asked for
    expect(held.calls()).toBe(1);
    await held.synced(); // the fdatasyncs returned, but the flushes they belong to are held
    expect(await settled(write)).toBe(false);
    expect(await settled(flushed)).toBe(false);
    held.release();
    await Promise.all([write, flushed]);
    expect(await s.getMeta("k")).toBe("v");
  });

});

describe("synchronous normal", () => {
  test("no WalSync: flushed() and writes never sync", async () => {
    const { s } = await store("normal");
    using held = holdSyncs();
    held.release(); // count syncs, hold none
    await s.setMeta("k", "v");
    await s.flushed();
    expect(held.calls()).toBe(0);
  });

});

// full: the store's own descriptor beside SQLite's; normal: SQLite's alone. close() releases them.
test.skipIf(!existsSync("/proc/self/fd")).each([
  ["full", 2],
  ["normal", 1],
] as const)("synchronous %s: %i descriptor(s) on -wal, none after close()", async (mode, open) => {
  const { s, dataDir } = await store(mode);
  expect(walDescriptors(dataDir)).toBe(open);
  close(s);
  expect(walDescriptors(dataDir)).toBe(0);
});

describe("close() with flushes in flight", () => {
  test("a write whose flush is already running resolves, and is there after a reopen", async () => {
    const { s, dataDir } = await store("full");
    const write = s.setMeta("k", "running");
    close(s);
    await write;
    const { s: again } = await store("normal", dataDir);
    expect(await again.getMeta("k")).toBe("running");
  });

  // close() used to close the WalSync descriptor at once: a flush queued behind the running one
  // then failed with EBADF (or, had the number been reused, synced an unrelated file), so a write
  // that had committed was rejected as "unavailable".
  test("a write whose flush is queued behind a running one still gets it when close() is called", async () => {
    const { s, dataDir } = await store("full");
    const first = s.setMeta("a", "1");
    const queued = s.setMeta("b", "2");
    close(s);
    await first;
    const outcome = await queued.then(
      () => "resolved",
      (e: unknown) => (e instanceof MeshError ? `${e.code}: ${String((e as Error).cause)}` : String(e)),
    );
    const { s: again } = await store("normal", dataDir);
    expect(await again.getMeta("b")).toBe("2");
    expect(outcome).toBe("resolved");
  });
});
