// A broker restart met by every client at once (the thundering herd), with real clients
// (src/client) all from one address, as the Claude Code sessions of a team behind one NAT are:
// all of them get in with the default settings, and all come back after a restart.
import { describe, expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { createTestMesh } from "../helpers/mesh.ts";
import { until } from "../helpers/until.ts";
import { backSince, closeAll, connectAll, crowd, failureCodes, restart } from "../helpers/storm.ts";

describe("a broker restart with many clients behind one address", () => {
  test("with the default settings, 300 sessions from one address all connect, and all come back after a restart", async () => {
    // No maxConnectionsPerIp given: the default is what is tested.
    let b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const clients = await crowd(b.url, owner, 5, 60);
    try {
      connectAll(clients);
      await until(() => clients.every((c) => c.opens.length > 0 || c.failures.length > 0), "each session connected or refused", 60_000);
      expect({ open: backSince(clients, 0).length, refused: failureCodes(clients, 0) }).toEqual({ open: 300, refused: {} });

      const stopped = performance.now();
      b = await restart(b);
      await until(() => backSince(clients, stopped).length === clients.length, "every session back after the restart", 60_000);
      const codes = failureCodes(clients, stopped);
      // Each was told the broker is going away, and none was refused for its address.
      expect({ back: backSince(clients, stopped).length, goingAway: codes["shutting down"], tooMany: codes.too_many_connections ?? 0 }).toEqual({ back: 300, goingAway: 300, tooMany: 0 });
    } finally {
      closeAll(clients);
      await b.stop();
    }
  }, 120_000);
});
