// The client's liveness timings follow the ping interval the broker states in hello_ack
// (docs/protocol.md §10 "Pongs and liveness"): a default broker gives the defaults, a faster one
// is matched, a slower one is still probed at 40 s, and an older broker (no field) keeps them.
import { expect, test } from "bun:test";
import { livenessFor, PING_IDLE_MS, PONG_TIMEOUT_MS } from "../../src/client/liveness.ts";

test("livenessFor: probe after 4/3 of the broker's interval (at most 40 s), wait one interval (at most 10 s)", () => {
  expect([undefined, 30_000, 1_000, 100, 600_000].map(livenessFor)).toEqual([
    { idleMs: PING_IDLE_MS, timeoutMs: PONG_TIMEOUT_MS },
    { idleMs: 40_000, timeoutMs: 10_000 },
    { idleMs: 1_333, timeoutMs: 1_000 },
    { idleMs: 133, timeoutMs: 100 },
    { idleMs: 40_000, timeoutMs: 10_000 },
  ]);
});
