// The client's liveness follows the ping interval a broker states in hello_ack (docs/protocol.md
// §10 "Pongs and liveness"), within bounds: that field is the broker's word, so a broker stating
// a tiny one gets probed at most once a second, and the pace of one broker's hello_ack never
// limits how long the next socket may take to open (the handshake timeout does). A scripted
// broker (Bun.serve) answers each hello with protocol.md's hello_ack example.
import { expect, test } from "bun:test";
import type { ServerWebSocket } from "bun";
import { BrokerClient, type ClientState } from "../../src/client/client.ts";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";
import { until } from "../helpers/until.ts";

/** docs/protocol.md §2's hello_ack example, with the broker's stated `pingIntervalMs`. */
const helloAck = (pingIntervalMs: number) =>
  JSON.stringify({
    type: "hello_ack",
    protocolVersion: 1,
    presenceId: "q3Zr8xYb.17",
    memberId: "mbr_owner_0001",
    role: "owner",
    displayName: "alice",
    mesh: { id: "mesh_T3stVect0r", slug: "test-vectors", name: "Test vectors", ownerPubkey: "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c", keyEpoch: 0 },
    hookToken: "J0rVxaL93tO7u5stf_58VMhaJsUUqYx5",
    pending: 0,
    epoch: "kR-hrlX3vj-05_dMHfHtQA",
    serverTime: Date.now(),
    reattached: false,
    limits: { maxFrameBytes: 65536, sendRatePerSec: 20, sendBurst: 100 },
    pingIntervalMs,
  });

/** A broker that answers every hello with helloAck(`pingIntervalMs`) and never pings; `delayMs(n)`
 *  holds the n-th upgrade (0-based) that long, as a slow DNS lookup or TLS handshake would. It
 *  records when each ping of the client arrived (Bun answers it with a pong). */
function scriptedBroker(pingIntervalMs: number, delayMs: (n: number) => number = () => 0) {
  const pings: number[] = [];
  const sockets: ServerWebSocket<unknown>[] = [];
  let upgrades = 0;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req, srv) {
      const wait = delayMs(upgrades++);
      if (wait) await Bun.sleep(wait);
      return srv.upgrade(req) ? undefined : new Response("no", { status: 400 });
    },
    websocket: {
      open: (ws) => void sockets.push(ws),
      message: (ws) => void ws.send(helloAck(pingIntervalMs)),
      ping: () => void pings.push(performance.now()),
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, pings, sockets, [Symbol.dispose]: () => server.stop(true) };
}

/** A member client of `url` that reports its states; `next(s)` resolves at the next state `s`. */
function watchedClient(url: string) {
  const seen: string[] = [];
  const waiters: { s: ClientState; resolve: () => void }[] = [];
  const keys = generateSigningKeypair();
  const client = new BrokerClient({
    url,
    credentials: { kind: "member", meshId: "mesh_T3stVect0r", memberId: "mbr_owner_0001", keys },
    where: { sessionId: "s-pace-1", pid: 1, cwd: "/" },
    random: () => 0,
    onState: (s, d) => {
      seen.push(`${s}${d.code ? `:${d.code}` : ""}`);
      for (const w of waiters.splice(0)) if (w.s === s) w.resolve();
      else waiters.push(w);
    },
  });
  const next = (s: ClientState) => new Promise<void>((resolve) => waiters.push({ s, resolve }));
  return { client, seen, next, [Symbol.dispose]: () => client.close() };
}

test("a broker stating a 1 ms ping interval is probed at most once a second, and the link stays up", async () => {
  using broker = scriptedBroker(1);
  using c = watchedClient(broker.url);
  await c.client.connect();
  // Two probes of the idle link: matched blindly, they came about a round trip apart.
  await until(() => broker.pings.length >= 2, "two pings of the client", 10_000);
  expect(broker.pings[1]! - broker.pings[0]!).toBeGreaterThanOrEqual(900);
  expect({ state: c.client.state, seen: c.seen }).toEqual({ state: "open", seen: ["open"] });
}, 20_000);

test("a reconnect whose socket takes longer to open than the last broker's ping pace still connects", async () => {
  // The first broker said 1 s: its clients find a dead open link within about 2.3 s. The socket
  // after it is slow to open (3 s, as a slow resolver or TLS handshake): only the handshake
  // timeout (15 s) may give that up, or the client never connects again.
  using broker = scriptedBroker(1000, (n) => (n === 0 ? 0 : 3000));
  using c = watchedClient(broker.url);
  await c.client.connect();
  const reopened = c.next("open");
  broker.sockets[0]!.terminate();
  await reopened;
  expect(c.seen).toEqual(["open", "reconnecting:1006", "open"]);
}, 20_000);
