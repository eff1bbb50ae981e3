// Bounds a long-lived client keeps (session 31's client review): a request larger than the frame
// limit the broker stated is refused at once, not left to time out as "maybe stored"; a reconnect
// refused as `replayed` (two processes of one key saying hello in one millisecond) is retried;
// the retry budget for a send the broker called `unavailable` is measured on the monotonic clock.
import { expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { cli, cliMesh, identities } from "../helpers/cli.ts";
import { linkProxy } from "../helpers/tcp-proxy.ts";
import { connect, createTestMesh, envelope } from "../helpers/mesh.ts";
import { stateWatch } from "../helpers/state-watch.ts";
import { buildHello } from "../../src/client/credentials.ts";
import { BrokerClient } from "../../src/client/client.ts";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";

test("a message over the broker's maxFrameBytes is refused at once with a clear error", async () => {
  await using b = await startBroker({ maxFrameBytes: 8192 });
  await using ids = identities(2);
  const [alice, bob] = ids.dirs as [string, string];
  await cliMesh(b.url, [[alice, "alice"], [bob, "bob"]]);
  const r = await cli(alice, ["send", "bob", "x".repeat(12_000), "--json"], { env: { CLAUDEMESH_TIMEOUT: "4s" } });
  // frame_too_large, not `timeout`: refused here, not left to wait out the 4 s for an answer.
  expect({ code: r.code, error: r.json().error.code, message: r.json().error.message }).toEqual({ code: 2, error: "frame_too_large", message: expect.stringContaining("the broker takes at most 8192 (its maxFrameBytes); nothing was sent") });
}, 30_000);

test("a reconnect refused as `replayed` (another process, same millisecond) is retried with a fresh timestamp", async () => {
  await using b = await startBroker();
  const { owner } = await createTestMesh(b.url);
  using proxy = linkProxy(b.port);
  const w = stateWatch();
  const a = await connect(proxy.url, owner, {}, { random: () => 0, onState: w.onState });
  const T = Date.now() + 2000;
  const creds = { kind: "member" as const, meshId: owner.meshId, memberId: owner.memberId, keys: owner.keys };
  // The other process (a second follower, the user's `claudemesh send`) connects, hello at T.
  const other = new WebSocket(b.url.replace("http", "ws") + "/ws");
  const acked = new Promise<string>((res) => (other.onmessage = (ev) => res(JSON.parse(String(ev.data)).type)));
  other.onopen = () => other.send(JSON.stringify(buildHello(creds, { sessionId: "other", pid: 1, cwd: "/tmp" }, T)));
  expect(await acked).toBe("hello_ack");
  const realNow = Date.now;
  Date.now = () => T; // this process's reconnect signs its hello in that same millisecond
  proxy.cut();
  await w.until((s) => s === "reconnecting", 5000);
  await w.until((s) => s === "open" || s === "closed", 5000).catch(() => {});
  Date.now = realNow;
  await w.until((s) => s === "open" || s === "closed", 5000).catch(() => {});
  const final = a.client.state;
  a.close();
  other.close();
  expect(final).toBe("open");
}, 30_000);

test("a send retried on `unavailable` keeps its retry budget when the wall clock is stepped", async () => {
  const keys = generateSigningKeypair();
  let sends = 0;
  const server = Bun.serve({
    port: 0,
    fetch: (req, srv) => (srv.upgrade(req) ? undefined : new Response("", { status: 426 })),
    websocket: {
      message(ws, text) {
        const f = JSON.parse(String(text));
        if (f.type === "hello") {
          const mesh = { id: "mesh_scripted1", slug: "s", name: "S", ownerPubkey: keys.publicKey, keyEpoch: 0 };
          return void ws.send(JSON.stringify({ type: "hello_ack", protocolVersion: 1, presenceId: "p1", memberId: "member_scripted1", role: "owner", displayName: "o", mesh, hookToken: "t", pending: 0, epoch: "e1", serverTime: Date.now(), reattached: false, limits: { maxFrameBytes: 65536, sendRatePerSec: 10, sendBurst: 20 } }));
        }
        if (f.type === "send") { sends++; ws.send(JSON.stringify({ type: "error", id: f.id, code: "unavailable", message: "The database is locked.", retryable: true })); }
      },
    },
  });
  const client = new BrokerClient({ url: `http://127.0.0.1:${server.port}`, credentials: { kind: "member", meshId: "mesh_scripted1", memberId: "member_scripted1", keys }, where: { sessionId: "s1", pid: 1, cwd: "/tmp" }, unavailableRetryMs: 5000, requestTimeoutMs: 15_000 });
  await client.connect();
  const realNow = Date.now;
  const t0 = performance.now();
  const p = client.request("send", { to: keys.publicKey, clientMessageId: "cm_clockstep1", ...envelope("x") }).catch((e) => e);
  await Bun.sleep(300);
  Date.now = () => realNow() + 3_600_000; // NTP steps the clock forward an hour
  const err = await p;
  Date.now = realNow;
  const ms = Math.round(performance.now() - t0);
  client.close();
  server.stop(true);
  expect(ms).toBeGreaterThanOrEqual(4500); // the 5 s retry budget, measured as time that passed
}, 30_000);
