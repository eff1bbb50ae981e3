// A broker collects its heap once it goes idle after growing (src/broker/idle-collect.ts): its
// WebSocket frames and its HTTP requests each keep it busy, its timers look once a second, and
// the count is in /metrics. Resident memory and the collection are injected here (what a real
// collection gives back is measured in bench/: docs/benchmarks.md, "Session 24").
import { expect, test } from "bun:test";
import { COLLECT_AFTER_GROWTH, IDLE_TICK_MS, IdleCollector } from "../../src/broker/idle-collect.ts";
import { startBroker } from "../helpers/broker.ts";
import { connect, createTestMesh } from "../helpers/mesh.ts";
import { until } from "../helpers/until.ts";

/** Runs `work` every 200 ms for a little over two ticks: real time on purpose, the ticks are not configurable. */
async function busyFor(work: () => Promise<unknown>): Promise<void> {
  for (const end = performance.now() + 2.5 * IDLE_TICK_MS; performance.now() < end; await Bun.sleep(200)) await work();
}

test("frames and requests keep a grown broker from collecting; once idle it collects once", async () => {
  let resident = 100 * 1024 * 1024;
  let collected = 0;
  const idle = new IdleCollector(
    () => resident,
    () => void collected++,
  );
  await using b = await startBroker({}, { idle });
  const { owner } = await createTestMesh(b.url);
  const a = await connect(b.url, owner);
  resident += COLLECT_AFTER_GROWTH;
  await busyFor(() => a.client.request("list_peers", {}));
  expect(collected).toBe(0);
  await busyFor(() => fetch(`${b.url}/health`));
  expect(collected).toBe(0);
  // Within a tick with nothing and the one after it.
  await until(() => collected > 0, "a collection once idle", 2.2 * IDLE_TICK_MS);
  expect(collected).toBe(1);
  await Bun.sleep(1.2 * IDLE_TICK_MS); // proves no second collection: at least one more idle tick, with no growth since
  expect(collected).toBe(1);
  const metrics = await (await fetch(`${b.url}/metrics`)).text();
  expect(metrics).toContain("\nbroker_idle_collections_total 1\n");
  a.close();
}, 20_000);
