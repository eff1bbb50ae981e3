// A broker's sweep round (src/broker/timers.ts sweepRound) deletes what is due in bounded
// transactions (store/sqlite/sweep.ts SWEEP_BATCH), one after another until nothing is left, and
// lets the event loop serve connections between them: under sustained traffic one transaction for
// everything due stalled every connection for 0.35–1.1 s every 30 s (the soak run).
import { expect, test } from "bun:test";
import { sweepRound } from "../../src/broker/timers.ts";
import { SWEEP_BATCH } from "../../src/store/sqlite/sweep.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";
import { startBroker } from "../helpers/broker.ts";
import { createTestMesh } from "../helpers/mesh.ts";
import { commitAll, count, directMessage, pubkey } from "../unit/store-fixtures.ts";

test("a round sweeps in batches until done, and other work runs between them", async () => {
  await using b = await startBroker();
  const store = b.ctx.store as SqliteStore;
  const { mesh } = await createTestMesh(b.url);
  const owner = (await store.listMembers(mesh.id))[0]!;
  const box = pubkey();
  const now = Date.now();
  const sent = await commitAll(store, Array.from({ length: 2 * SWEEP_BATCH + 10 }, () => directMessage(owner, [box], { expiresAt: now + 3_600_000 })));
  await store.ack(mesh.id, [box], sent.map((o) => o.message.id), now);
  const ctx = b.ctx as { now: () => number };
  ctx.now = () => now + b.ctx.config.dedupWindow + 60_000;

  // What each sweep found: whether work queued before the round (here, one setImmediate) ran first.
  let otherWorkRan = false;
  const seen: boolean[] = [];
  const realSweep = store.sweep.bind(store);
  store.sweep = ((...args: Parameters<typeof realSweep>) => (seen.push(otherWorkRan), realSweep(...args))) as typeof store.sweep;
  setImmediate(() => (otherWorkRan = true));
  await sweepRound(b.ctx);

  expect(seen).toEqual([false, true, true]);
  expect(count(store, "messages")).toBe(0);
});
