// Two processes of one member key (two one-shot commands a script or Claude Code starts at once)
// may say hello in the same millisecond: a timestamp is fresh within a process, not across them, so
// both sign the same text and the broker refuses the later as `replayed`. The later's first
// connect must not fail for it: a hello a moment on is a new one. Reproduced through a WebSocket
// relay that, on the first connection only, lets a copy of the client's hello in first on a
// connection of its own (the other process), then passes the client's on.
// Three or more such processes: the refused ones must not collide again on their repeat (Session
// 36, "set-broker's leftovers"). Real CLI processes whose wall clock libfaketime holds still, so
// that every hello they sign would read the same millisecond: the worst case of processes started
// together, which a repeat that only waits for the clock to move cannot get out of.
import { expect, test } from "bun:test";
import type { ServerWebSocket } from "bun";
import { BrokerClient } from "../../src/client/client.ts";
import { randomId } from "../../src/crypto/hash.ts";
import { startBroker } from "../helpers/broker.ts";
import { createTestMesh } from "../helpers/mesh.ts";
import { cli, cliMesh, identities } from "../helpers/cli.ts";
import { libfaketimePath } from "../helpers/faked-clock.ts";

type Side = { up: WebSocket | null; early: string[] };

/** A relay to `brokerWs` whose first connection has its hello said first by a twin connection. */
function twinFirstHello(brokerWs: string) {
  let connections = 0;
  let refusedReason = "";
  const server = Bun.serve<Side>({
    port: 0,
    fetch: (req, srv) => (srv.upgrade(req, { data: { up: null, early: [] } }) ? undefined : new Response("no", { status: 400 })),
    websocket: {
      open(client: ServerWebSocket<Side>) {
        const twin = connections++ === 0;
        const up = new WebSocket(brokerWs);
        up.onmessage = (ev) => client.send(String(ev.data));
        up.onclose = (ev) => {
          if (ev.reason) refusedReason ||= ev.reason;
          client.close(ev.code, ev.reason);
        };
        up.onopen = async () => {
          for (const text of client.data.early.splice(0)) {
            if (twin && text.includes('"hello"')) await saidFirst(brokerWs, text);
            up.send(text);
          }
          client.data.up = up;
        };
      },
      message(client, text) {
        if (client.data.up) client.data.up.send(String(text));
        else client.data.early.push(String(text));
      },
      close: (client) => client.data.up?.close(),
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, connections: () => connections, refusedReason: () => refusedReason, [Symbol.dispose]: () => server.stop(true) };
}

/** Says `hello` on a connection of its own and waits for the broker's answer (the other process). */
function saidFirst(brokerWs: string, hello: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(brokerWs);
    ws.onopen = () => ws.send(hello);
    ws.onmessage = (ev) => (String(ev.data).includes('"hello_ack"') ? resolve() : reject(new Error(String(ev.data))));
    ws.onclose = (ev) => reject(new Error(`the twin hello was refused: ${ev.code} ${ev.reason}`));
  });
}

test("a first connect whose hello another process signed in the same millisecond is refused once, then connects", async () => {
  await using b = await startBroker();
  const { owner } = await createTestMesh(b.url);
  using relay = twinFirstHello(`${b.url.replace("http", "ws")}/ws`);
  const client = new BrokerClient({
    url: relay.url,
    credentials: { kind: "member", meshId: owner.meshId, memberId: owner.memberId, keys: owner.keys },
    where: { sessionId: randomId(), pid: process.pid, cwd: "/tmp/test", hostname: "test-host" },
  });
  try {
    const ack = await client.connect();
    expect({ acked: ack.type, refused: relay.refusedReason(), connections: relay.connections() }).toEqual({ acked: "hello_ack", refused: "replayed", connections: 2 });
  } finally {
    client.close();
  }
});

/** The environment for a child whose wall clock stands still at the whole second it is now
 *  (libfaketime's absolute time, read in UTC); the monotonic clock, which timers use, runs. */
function stoppedClock(): Record<string, string> {
  const at = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, "");
  return { LD_PRELOAD: libfaketimePath(), TZ: "UTC", FAKETIME: at, FAKETIME_DONT_FAKE_MONOTONIC: "1" };
}

/** How many hellos the broker refused as `replayed`. */
const replayedCount = async (url: string) => Number(/^broker_connections_rejected_total\{reason="replayed"\} (\d+)$/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? 0);

test("five CLI processes of one member whose hellos read the same millisecond: every one connects", async () => {
  await using b = await startBroker();
  await using ids = identities(1);
  const [alice] = ids.dirs as [string];
  await cliMesh(b.url, [[alice, "alice"]]);
  const env = stoppedClock();
  const runs = await Promise.all(Array.from({ length: 5 }, () => cli(alice, ["peers", "--json"], { env })));
  expect(runs.map((r) => ({ code: r.code, stderr: r.stderr }))).toEqual(Array.from({ length: 5 }, () => ({ code: 0, stderr: "" })));
  // The same hello four times over: the case under test happened.
  expect(await replayedCount(b.url)).toBeGreaterThanOrEqual(4);
}, 60_000);
