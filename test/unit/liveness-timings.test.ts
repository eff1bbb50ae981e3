// The client's liveness timings follow the ping interval the broker states in hello_ack
// (docs/protocol.md §10 "Pongs and liveness"): a default broker gives the defaults, a faster one
// is matched down to a floor of 1 s each, a slower one is still probed at 40 s, and an older broker
// (no field) keeps them.
import { expect, test } from "bun:test";
import { livenessFor, MIN_PING_IDLE_MS, MIN_PONG_TIMEOUT_MS, PING_IDLE_MS, PONG_TIMEOUT_MS } from "../../src/client/liveness.ts";

test("livenessFor: probe after 4/3 of the broker's interval (at most 40 s), wait one interval (at most 10 s)", () => {
  expect([undefined, 30_000, 1_000, 100, 600_000].map(livenessFor)).toEqual([
    { idleMs: PING_IDLE_MS, timeoutMs: PONG_TIMEOUT_MS },
    { idleMs: 40_000, timeoutMs: 10_000 },
    { idleMs: 1_333, timeoutMs: 1_000 },
    { idleMs: 1_000, timeoutMs: 1_000 },
    { idleMs: 40_000, timeoutMs: 10_000 },
  ]);
});

test("livenessFor: a broker stating a tiny interval gets a client that pings at most once a second and gives each ping a second", () => {
  // The field is the broker's word (schema minimum 1): matched blindly, 1 ms made the client ping
  // about once per round trip and drop every link whose pong took over a millisecond.
  expect([1, 10, 100, 750].map(livenessFor)).toEqual(Array(4).fill({ idleMs: MIN_PING_IDLE_MS, timeoutMs: MIN_PONG_TIMEOUT_MS }));
  expect([MIN_PING_IDLE_MS, MIN_PONG_TIMEOUT_MS]).toEqual([1_000, 1_000]);
});
