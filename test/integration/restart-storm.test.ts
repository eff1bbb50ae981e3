// A broker restart met by every client at once (the thundering herd), with real clients
// (src/client) all from one address, as the Claude Code sessions of a team behind one NAT are:
// all of them get in with the default settings, and all come back after a restart; after a clean
// restart those back within the presence grace re-attach (no join storm, status kept).
import { describe, expect, test } from "bun:test";
import { startBroker, tempDir } from "../helpers/broker.ts";
import { cli, cliMesh, identities } from "../helpers/cli.ts";
import { runHook, startMcp, waitConnected, waitPeer } from "../helpers/mcp.ts";
import { serveProcess, spawnBroker } from "../helpers/process.ts";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { addMember, connect, createTestMesh, sendText } from "../helpers/mesh.ts";
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

  test("a Claude Code session mid-turn stays working across `serve` stopped with SIGTERM and started again, and its peer's next message stays held", async () => {
    await using ids = identities(2);
    const [alice, bob] = ids.dirs as [string, string];
    const dataDir = tempDir("cm-restart-turn-");
    await using first = await spawnBroker(dataDir);
    const port = new URL(first.url).port;
    await cliMesh(first.url, [[alice, "alice"], [bob, "bob"]]);
    await using a = await startMcp(alice, "sess-alice-turn");
    await using bb = await startMcp(bob, "sess-bob-turn");
    await Promise.all([waitPeer(a, "bob/app"), waitPeer(bb, "alice/app")]);
    expect((await runHook(bob, "user-prompt-submit", JSON.stringify({ session_id: "sess-bob-turn", cwd: "/work/projects/app", hook_event_name: "UserPromptSubmit", prompt: "go" }))).code).toBe(0);
    await until(async () => /bob\/app"?: working/.test((await a.call("mesh_peers")).text), "bob working");

    first.proc.kill("SIGTERM");
    await first.proc.exited;
    await using again = serveProcess(["--port", port, "--data-dir", dataDir], { env: { ...process.env, CLAUDEMESH_LOG_LEVEL: "info" } });
    await again.waitFor(/"msg":"broker listening"/);
    await Promise.all([waitConnected(a, 30_000), waitConnected(bb, 30_000)]);
    await until(async () => /bob\/app"?: working/.test((await a.call("mesh_peers")).text), "bob still working after the restart", 10_000);
    expect((await cli(alice, ["send", "bob/app", "held across the restart"])).code).toBe(0);
    await Bun.sleep(1000);
    expect(bb.notifications.some((n) => n.content.includes("held across the restart"))).toBe(false);
    expect((await bb.call("mesh_inbox")).text).toContain("held across the restart");
  }, 90_000);

  test("sends committed while the broker drains are answered before its 1001: a client that does not reconnect is never told that a stored send failed", async () => {
    const b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const alice = await connect(b.url, owner, {}, { reconnect: false }); // as a one-shot `claudemesh send`
    const ids = Array.from({ length: 300 }, (_, i) => `drain-${i}`);
    const outcomes = ids.map((id) => sendText(alice, bob.keys.publicKey, id, { clientMessageId: id }).then(() => "answered" as const, () => "failed" as const));
    await Promise.race(outcomes); // the first commit is in: the rest are in flight
    await b.stop();
    const said = await Promise.all(outcomes);
    const db = new Database(join(b.dataDir, "claudemesh.db"), { readonly: true });
    const stored = new Set(db.query<{ id: string }, []>("SELECT client_message_id AS id FROM messages WHERE kind = 'direct'").all().map((r) => r.id));
    db.close();
    const failedButStored = ids.filter((id, i) => said[i] === "failed" && stored.has(id));
    const answeredNotStored = ids.filter((id, i) => said[i] === "answered" && !stored.has(id));
    expect({ failedButStored: failedButStored.length, answeredNotStored }).toEqual({ failedButStored: 0, answeredNotStored: [] });
  }, 60_000);

  test("a record of presences that is damaged, or older than the grace, is logged or skipped, and the broker starts", async () => {
    const b = await startBroker({ presenceGrace: 5_000 });
    const { owner } = await createTestMesh(b.url);
    const peer = await connect(b.url, owner, {}, { reconnect: false });
    await b.stop();
    peer.close();
    const record = (set?: string) => {
      const db = new Database(join(b.dataDir, "claudemesh.db"));
      const row = db.query<{ value: string }, []>("SELECT value FROM broker_meta WHERE key = 'carried_presences'").get();
      if (set !== undefined) db.query("UPDATE broker_meta SET value = ? WHERE key = 'carried_presences'").run(set);
      db.close();
      return row?.value ?? null;
    };
    const written = JSON.parse(record()!);
    expect(written.presences.map((p: { identity: { pubkey: string } }) => p.identity.pubkey)).toEqual([owner.keys.publicKey]);

    record(JSON.stringify({ ...written, presences: [{ ...written.presences[0], leftAt: written.stoppedAt - 6_000 }] }));
    const stale = await startBroker({ presenceGrace: 5_000, port: b.port }, { dataDir: b.dataDir });
    expect({ carried: stale.ctx.hub.size, consumed: record() }).toEqual({ carried: 0, consumed: "" });
    await stale.stop();

    // A member removed while no broker ran (the database changed under it): not carried.
    record(JSON.stringify(written));
    const db = new Database(join(b.dataDir, "claudemesh.db"));
    db.query("UPDATE members SET revoked_at = ? WHERE pubkey = ?").run(Date.now(), owner.keys.publicKey);
    db.close();
    const removed = await startBroker({ presenceGrace: 5_000, port: b.port }, { dataDir: b.dataDir });
    expect({ carried: removed.ctx.hub.size, consumed: record() }).toEqual({ carried: 0, consumed: "" });
    await removed.stop();

    record("{not json");
    const damaged = await startBroker({ presenceGrace: 5_000, port: b.port }, { dataDir: b.dataDir });
    await damaged.stop();
    expect({ carried: damaged.ctx.hub.size, warned: damaged.logs.some((l) => l.includes("could not be read")) }).toEqual({ carried: 0, warned: true });
  }, 60_000);
});
