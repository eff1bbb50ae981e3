// A sweep is bounded (store/sqlite/sweep.ts SWEEP_BATCH): at most that many rows of each kind per
// transaction, and `more` while some were left. One transaction for everything due stalled the
// broker's event loop for 0.35–1.1 s every 30 s under sustained traffic (the soak run).
import { afterEach, describe, expect, setSystemTime, test } from "bun:test";
import { SWEEP_BATCH } from "../../src/store/sqlite/sweep.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";
import { commitAll, count, directMessage, pubkey, seedMesh, TempDirs } from "./store-fixtures.ts";

const tmp = new TempDirs();
afterEach(() => {
  setSystemTime();
  tmp.cleanup();
});

/** Each sweep's counts and `more`, until one says nothing is left. */
async function sweeps(store: SqliteStore, nowMs: number, dedupWindowMs: number) {
  const out: { expiredRows: number; deletedMessages: number; seenSignatures: number; more: boolean }[] = [];
  for (let more = true; more; ) {
    const { expiredRows, deletedMessages, seenSignatures, more: left } = await store.sweep(nowMs, dedupWindowMs);
    out.push({ expiredRows, deletedMessages, seenSignatures, more: left });
    more = left;
  }
  return out;
}

const n = 2 * SWEEP_BATCH + SWEEP_BATCH / 2;

test("delivered messages past the window go SWEEP_BATCH at a time", async () => {
  const store = await tmp.open();
  const { mesh, owner } = await seedMesh(store);
  const box = pubkey();
  const t0 = 1_900_000_000_000;
  setSystemTime(new Date(t0));
  const sent = await commitAll(store, Array.from({ length: n }, () => directMessage(owner, [box], { expiresAt: t0 + 3_600_000 })));
  await store.ack(mesh.id, [box], sent.map((o) => o.message.id), t0);
  expect((await sweeps(store, t0 + 120_000, 60_000)).map((s) => [s.deletedMessages, s.more])).toEqual([
    [SWEEP_BATCH, true],
    [SWEEP_BATCH, true],
    [SWEEP_BATCH / 2, false],
  ]);
  expect(count(store, "messages")).toBe(0);
});

test("expired queue entries and remembered signatures go SWEEP_BATCH at a time", async () => {
  const store = await tmp.open();
  const { owner } = await seedMesh(store);
  const t0 = Date.now();
  await commitAll(store, Array.from({ length: n }, () => directMessage(owner, [pubkey()], { expiresAt: t0 + 1000 })));
  for (let i = 0; i < n; i++) expect(await store.rememberSignature(`sig-${i}`, t0 + 1000, 0)).toBe("recorded");
  const all = await sweeps(store, t0 + 2000, 10 * 60_000);
  expect(all.map((s) => [s.expiredRows, s.seenSignatures, s.more])).toEqual([
    [SWEEP_BATCH, SWEEP_BATCH, true],
    [SWEEP_BATCH, SWEEP_BATCH, true],
    [SWEEP_BATCH / 2, SWEEP_BATCH / 2, false],
  ]);
  expect([count(store, "queue"), count(store, "seen_signatures")]).toEqual([0, 0]);
});

describe("topic rows freed behind their window by the sweep's own expiries", () => {
  // Rows a sweep's expiries free are known only after its transaction. 500 posts held by one
  // mailbox, expiring, behind a window of 100: 400 of them are behind it.
  async function heldPosts() {
    const store = await tmp.open();
    const { mesh, owner } = await seedMesh(store);
    const topic = await store.createTopic(mesh.id, "busy", "", owner.id);
    const t0 = Date.now();
    const posts = Array.from({ length: SWEEP_BATCH / 2 }, () => directMessage(owner, [pubkey()], { kind: "topic", target: "#busy", topic: "busy", topicId: topic.id, expiresAt: t0 + 1000 }));
    await store.commitSends(posts, 100);
    return { store, t0 };
  }
  const rounds = async (store: SqliteStore, now: number) => (await sweeps(store, now, 60_000)).map((s) => [s.expiredRows, s.deletedMessages, s.more]);

  test("wait for the next round, which the round says with `more` (they would wait 30 s otherwise)", async () => {
    const { store, t0 } = await heldPosts();
    // The topic's first walk (its first window move in this process) finds every row held.
    expect(await rounds(store, t0)).toEqual([[0, 0, false]]);
    expect(await rounds(store, t0 + 2000)).toEqual([
      [SWEEP_BATCH / 2, 0, true],
      [0, SWEEP_BATCH / 2 - 100, false],
    ]);
    expect([count(store, "messages"), count(store, "queue")]).toEqual([100, 0]);
  });

  test("do not wait when the round deleted them already (a topic's first walk meets them)", async () => {
    const { store, t0 } = await heldPosts();
    expect(await rounds(store, t0 + 2000)).toEqual([[SWEEP_BATCH / 2, SWEEP_BATCH / 2 - 100, false]]);
    const looks = store.trims.looks;
    expect(await rounds(store, t0 + 2000)).toEqual([[0, 0, false]]);
    expect(store.trims.looks - looks).toBe(0);
    expect([count(store, "messages"), count(store, "queue")]).toEqual([100, 0]);
  });
});
