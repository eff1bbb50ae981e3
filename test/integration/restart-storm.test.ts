// A broker restart met by every client at once (the thundering herd), with real clients
// (src/client) all from one address, as the Claude Code sessions of a team behind one NAT are:
// all of them get in with the default settings, and all come back after a restart.
import { describe, expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { createTestMesh } from "../helpers/mesh.ts";
import { until } from "../helpers/until.ts";
import { backSince, closeAll, connectAll, crowd, failureCodes, restart, type CrowdClient } from "../helpers/storm.ts";

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

  test("after a clean restart, sessions back within the grace re-attach: no join is announced, a working one stays working, one that stays away is announced gone", async () => {
    const grace = { presenceGrace: 5_000 };
    let b = await startBroker(grace);
    const { owner } = await createTestMesh(b.url);
    const clients = await crowd(b.url, owner, 2, 50);
    const [busy, leaver, ...rest] = clients as [CrowdClient, CrowdClient, ...CrowdClient[]];
    try {
      connectAll(clients);
      await until(() => backSince(clients, 0).length === clients.length, "100 sessions connected", 60_000);
      await busy.client.request("set_status", { status: "working" });
      for (const c of clients) c.events.length = 0;

      const stopped = performance.now();
      await b.stop();
      leaver.client.close(); // its process ended while the broker was down
      b = await startBroker({ ...grace, port: b.port }, { dataDir: b.dataDir });
      const back = [busy, ...rest];
      await until(() => backSince(back, stopped).length === back.length, "every other session back after the restart", 60_000);
      await until(() => rest[0]!.events.some((e) => e.event === "peer_left" && e.data.pubkey === leaver.pubkey), "peer_left for the session that stayed away", 15_000);

      const heard = (event: string) => clients.flatMap((c) => c.events.filter((e) => e.event === event).map((e) => e.data.pubkey));
      const peers = (await rest[0]!.client.request("list_peers", {})).peers;
      expect({
        joined: heard("peer_joined").length,
        // (The owner's own connection, which made the invites, may still have been in its grace.)
        left: [...new Set(heard("peer_left"))].filter((k) => k !== owner.keys.publicKey),
        busy: peers.find((p) => p.pubkey === busy.pubkey)?.status,
        online: peers.filter((p) => p.online && p.kind === "session").length,
      }).toEqual({ joined: 0, left: [leaver.pubkey], busy: "working", online: 99 });
    } finally {
      closeAll(clients);
      await b.stop();
    }
  }, 120_000);
});
