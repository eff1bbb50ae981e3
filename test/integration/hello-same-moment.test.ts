// Two processes of one member key (two one-shot commands a script or Claude Code starts at once)
// may say hello in the same millisecond: a timestamp is fresh within a process, not across them, so
// both sign the same text and the broker refuses the later as `replayed`. The later's first
// connect must not fail for it: a hello a moment on is a new one. Reproduced through a WebSocket
// relay that, on the first connection only, lets a copy of the client's hello in first on a
// connection of its own (the other process), then passes the client's on.
import { expect, test } from "bun:test";
import type { ServerWebSocket } from "bun";
import { BrokerClient } from "../../src/client/client.ts";
import { randomId } from "../../src/crypto/hash.ts";
import { startBroker } from "../helpers/broker.ts";
import { createTestMesh } from "../helpers/mesh.ts";

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
