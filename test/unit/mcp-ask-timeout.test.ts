// mesh_ask's whole wait stays within its timeout_seconds: an ask that finds its reply held by a
// hook waits for that one hold (at most HANDOUT_MS) and then returns in every case (takeAnswer in
// src/mcp/reply-waiters.ts), without a further wait; so the hold must never outlast the shortest
// timeout the tool accepts.
import { expect, test } from "bun:test";
import { HANDOUT_MS } from "../../src/mcp/server.ts";
import { MIN_ASK_TIMEOUT_S, meshTools } from "../../src/mcp/tools.ts";
import type { Meshes } from "../../src/mcp/meshes.ts";

test("a hook's hold on a message is no longer than the shortest mesh_ask timeout", () => {
  expect(HANDOUT_MS).toBeLessThanOrEqual(MIN_ASK_TIMEOUT_S * 1000);
  const ask = meshTools({} as Meshes).find((t) => t.name === "mesh_ask")!;
  expect(ask.inputSchema.timeout_seconds!.safeParse(MIN_ASK_TIMEOUT_S - 1).success).toBe(false);
  expect(ask.inputSchema.timeout_seconds!.safeParse(MIN_ASK_TIMEOUT_S).success).toBe(true);
});
