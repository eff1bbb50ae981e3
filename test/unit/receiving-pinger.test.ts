// The pings of a receiving client (src/client/liveness.ts, docs/protocol.md §2.8): every third of
// the broker's interval from the first frame on, while frames keep coming; none once no frame came
// for an interval; never faster than MIN_RECEIVING_PING_MS whatever the broker states.
import { expect, test } from "bun:test";
import { MIN_RECEIVING_PING_MS, ReceivingPinger } from "../../src/client/liveness.ts";

/** Frames every `everyMs` for `forMs`; the ping times (ms from the start). */
async function receive(intervalMs: number, everyMs: number, forMs: number) {
  const t0 = performance.now();
  const pings: number[] = [];
  const pinger = new ReceivingPinger(() => pings.push(performance.now() - t0), intervalMs);
  while (performance.now() - t0 < forMs) {
    pinger.frame();
    await Bun.sleep(everyMs);
  }
  return { pinger, pings, t0 };
}

test("pings on a timer while frames come, however far apart they are", async () => {
  // Frames 250 ms apart against a 300 ms interval: pinging per frame at half an interval would
  // have pinged at most once per frame; the timer pings every 100 ms.
  const { pinger, pings } = await receive(300, 250, 1_000);
  pinger.stop();
  expect(pings[0]!).toBeGreaterThanOrEqual(90);
  expect(pings[0]!).toBeLessThan(300);
  expect(pings.length).toBeGreaterThanOrEqual(6);
  const gaps = pings.slice(1).map((p, i) => p - pings[i]!);
  expect(Math.max(...gaps)).toBeLessThan(300); // always within a round, with room for a busy machine
});

test("stops once no frame came for an interval, and starts again with the next frame", async () => {
  const { pinger, pings } = await receive(200, 20, 300);
  await Bun.sleep(500); // an interval of silence, and more
  const settled = pings.length;
  await Bun.sleep(300);
  expect(pings.length).toBe(settled);
  pinger.frame();
  await Bun.sleep(200);
  expect(pings.length).toBeGreaterThan(settled);
  pinger.stop();
});

test("a broker stating a 1 ms interval gets pings no faster than the floor", async () => {
  const { pinger, pings } = await receive(1, 5, 500);
  pinger.stop();
  expect(pings.length).toBeLessThanOrEqual(Math.ceil(500 / MIN_RECEIVING_PING_MS) + 2);
});
