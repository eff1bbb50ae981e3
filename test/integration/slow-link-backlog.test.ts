// A backlog of large messages pushed over a slow link to a client that does not ack them yet (the
// MCP server acks a message only once the model has seen it, src/mcp/incoming.ts): the broker's
// liveness ping (docs/protocol.md §2.8) waits behind every byte written before it, so its pong
// comes back only once the client has downloaded them. A real broker on port 0, the real client
// through a user-space slow link (test/helpers/slow-link.ts). The broker pings every 5 s instead of
// 30 s, and the backlog is scaled to match: over 20 KB/s it takes several intervals to arrive, as
// 1 MB takes more than the default 30 s.
import { expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh, sendText, textOf } from "../helpers/mesh.ts";
import { slowLink } from "../helpers/slow-link.ts";
import { stateWatch } from "../helpers/state-watch.ts";

const PING_MS = 5_000;
/** A hotel Wi-Fi or satellite path: 1.6–2.4 s round trips, 20 KB/s each way. */
const SATELLITE = { delayMs: 800, jitterMs: 400, bytesPerSec: 20_000 };
/** Six messages of 44 KB (about 60 KB each on the wire, sealed and base64): ~18 s at 20 KB/s. */
const BACKLOG = 6;
const BODY = "b".repeat(44_000);

test("a backlog that takes several ping intervals to download over a slow link arrives on one connection, once", async () => {
  await using b = await startBroker({ pingInterval: PING_MS });
  const { owner } = await createTestMesh(b.url);
  const bob = await addMember(b.url, owner, "bob");
  using link = await slowLink(b.port, SATELLITE);
  const w = stateWatch();
  // Pushes, never acked: what a session whose model has not read them yet does.
  const rx = await connect(link.url, bob, { receive: "push" }, { onState: w.onState });
  const tx = await connect(b.url, owner);
  const started = performance.now();
  for (let i = 0; i < BACKLOG; i++) await sendText(tx, bob.keys.publicKey, `<m${i}> ${BODY}`);
  await rx.waitMessages(BACKLOG, 90_000);
  const tookMs = performance.now() - started;
  // Anything redelivered by a reconnect would arrive after the first copies: give the last push's
  // interval time to pass (the broker judges each connection once per interval).
  await Bun.sleep(PING_MS + 1_000); // two more liveness rounds with nothing pushed: they must close nothing
  expect({
    texts: rx.messages.map((m) => textOf(m).slice(0, 4)),
    states: w.seen,
    connections: link.connections(),
    reaped: b.logs.filter((l) => l.includes("closing unresponsive connection")).length,
    slowerThanInterval: tookMs > 2 * PING_MS,
  }).toEqual({ texts: Array.from({ length: BACKLOG }, (_, i) => `<m${i}>`), states: ["open"], connections: 1, reaped: 0, slowerThanInterval: true });
  console.log(`backlog of ${BACKLOG} × 44 KB over 20 KB/s: ${Math.round(tookMs)} ms`);
  rx.close();
  tx.close();
}, 120_000);

test("a backlog mixing small frames with frames that take most of an interval, never quiet, is not reaped", async () => {
  // No jitter: arrival times follow from the sizes. Each cycle is one frame of ~3 s on the wire
  // (0.75 of the 4 s interval) then ten small ones; pinging only as frames arrived (at most every
  // half interval) left a gap of more than a round after the large one, and the link was closed.
  const pingMs = 4_000;
  await using b = await startBroker({ pingInterval: pingMs });
  const { owner } = await createTestMesh(b.url);
  const bob = await addMember(b.url, owner, "bob");
  const tx = await connect(b.url, owner);
  const sent: string[] = [];
  for (let c = 0; c < 6; c++) {
    for (const body of ["L".repeat(44_000), ...Array<string>(10).fill("s".repeat(2_200))]) {
      const tag = `<${String(sent.length).padStart(3, "0")}>`;
      await sendText(tx, bob.keys.publicKey, `${tag} ${body}`);
      sent.push(tag);
    }
  }
  using link = await slowLink(b.port, { delayMs: 100, bytesPerSec: 20_000 });
  const w = stateWatch();
  const rx = await connect(link.url, bob, { receive: "push" }, { onState: w.onState });
  await rx.waitMessages(sent.length, 90_000);
  await Bun.sleep(pingMs + 1_000); // a redelivery after a reconnect would come by now
  expect({
    texts: rx.messages.map((m) => textOf(m).slice(0, 5)),
    states: w.seen,
    connections: link.connections(),
    reaped: b.logs.filter((l) => l.includes("closing unresponsive connection")).length,
  }).toEqual({ texts: sent, states: ["open"], connections: 1, reaped: 0 });
  rx.close();
  tx.close();
}, 150_000);
