// claudemesh mcp started while its broker is down (a laptop waking before the VPS, a broker
// restarting): the server keeps retrying with the reconnect backoff and the mesh comes alive as
// soon as the broker is back, within the same Claude Code session. One-shot CLI commands still
// fail fast (test/integration/cli-errors.test.ts).
import { describe, expect, test } from "bun:test";
import { startBroker, tempDir } from "../helpers/broker.ts";
import { cli, identities, ok } from "../helpers/cli.ts";
import { startMcp, type McpSession } from "../helpers/mcp.ts";

/** Calls mesh_peers until `done` holds for its answer (polls every 100 ms). */
async function peersUntil(s: McpSession, done: (r: { text: string; isError: boolean }) => boolean, timeoutMs: number) {
  const until = performance.now() + timeoutMs;
  let r = await s.call("mesh_peers");
  while (!done(r) && performance.now() < until) {
    await Bun.sleep(100);
    r = await s.call("mesh_peers");
  }
  return r;
}

describe("claudemesh mcp with the broker down at start", () => {
  test("keeps retrying and connects when the broker appears", async () => {
    await using ids = identities(1);
    const [alice] = ids.dirs as [string];
    const dataDir = tempDir("cm-broker-down-");
    await using first = await startBroker({}, { dataDir });
    const port = first.port;
    ok(await cli(alice, ["new", "Team", "--broker", first.url, "--display-name", "alice"]), "new");
    await first.stop();

    const s = await startMcp(alice, "sess-down-1");
    try {
      // The first connect has failed once the state is no longer "connecting".
      const down = await peersUntil(s, (r) => !r.text.includes("first connection is still under way"), 10_000);
      expect({ isError: down.isError, text: down.text }).toEqual({ isError: true, text: expect.stringContaining("Not connected to mesh team right now (reconnecting)") });

      await using again = await startBroker({ port }, { dataDir });
      expect(again.port).toBe(port);
      // Backoff: attempts after ~1, 2, 4 s (with jitter), so the mesh is up within a few seconds.
      const up = await peersUntil(s, (r) => !r.isError, 20_000);
      expect({ isError: up.isError, text: up.text }).toEqual({ isError: false, text: expect.stringContaining('"alice/app" (you)') });
    } finally {
      await s.close();
    }
  }, 60_000);
});
