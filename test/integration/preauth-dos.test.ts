// Reliability plan T14, pre-authentication denial of service, against `claudemesh serve` as a
// process (so that its memory is its own): while an authenticated client keeps sending and
// receiving, other client addresses (127.0.0.2…, which the broker counts apart) attack it before
// any hello:
// - 300 sockets that never send a hello: the per-address cap (set to 256) refuses the rest at the
//   upgrade, and the hello deadline closes every one let in;
// - an upgrade request trickled in a byte at a time: Bun (uWS) cuts a connection whose request
//   is not complete about 10 s after it opened (HTTP_IDLE_TIMEOUT_S; Bun.serve's idleTimeout does
//   not change it), however slowly it trickles;
// - a fragmented message that never ends, in empty continuation frames (nothing to buffer: closed
//   at the hello deadline) or in 1-byte ones (closed with 1009 at the transport cap);
// - pings from clients that never read their pongs: refused (`rate_limited`) once 64 KiB of
//   pongs wait, instead of Bun keeping up to 16 MiB of them per socket (session.ts onPing).
import { expect, test } from "bun:test";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { spawnBroker } from "../helpers/process.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { addMember, connect, createTestMesh, sendText } from "../helpers/mesh.ts";
import { Op, tcpWebSocket, upgradeRequest, wsFrame, type TcpWebSocket } from "../helpers/raw.ts";

const HELLO_TIMEOUT_MS = 5_000;
const FLOOD_BYTES = 32 * 1024 * 1024;

const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
/** The close code and the error codes of the frames a socket got, once the broker closed it. */
const outcome = async (s: TcpWebSocket) => (await s.ended, { close: s.closed(), errors: s.frames.map((f) => JSON.parse(f).code) });
const closedBy = (code: string) => ({ close: 1008, errors: [code] });

/** Writes `frames` over and over (reading nothing when `deaf`) until FLOOD_BYTES went out or the
 *  broker closed the socket; then reads what it was sent. */
async function flood(s: TcpWebSocket, frames: Buffer, deaf: boolean) {
  let ended = false;
  void s.ended.then(() => (ended = true));
  if (deaf) s.sock.pause();
  for (let sent = 0; sent < FLOOD_BYTES && !ended; sent += frames.length) {
    if (!s.sock.write(frames)) await Promise.race([once(s.sock, "drain"), s.ended]);
  }
  s.sock.resume();
  return outcome(s);
}

const repeat = (frame: Buffer, n: number) => Buffer.concat(Array.from({ length: n }, () => frame));

test("sockets that never say hello are capped, cut, closed and bounded while an authenticated client carries on", async () => {
  await using broker = await spawnBroker(tempDir(), ["--hello-timeout", `${HELLO_TIMEOUT_MS}ms`, "--synchronous", "normal", "--max-connections-per-ip", "256"]);
  const port = Number(new URL(broker.url).port);
  const { owner } = await createTestMesh(broker.url, "alice");
  const bobMember = await addMember(broker.url, owner, "bob");
  const [alice, bob] = [await connect(broker.url, owner), await connect(broker.url, bobMember)];

  // A byte every 200 ms: the request would take half a minute to arrive.
  const trickled = (async () => {
    const sock = tcpConnect({ port, host: "127.0.0.1", localAddress: "127.0.0.4" });
    const opened = performance.now();
    let answer = "";
    sock.on("data", (d) => (answer += d.toString("latin1")));
    const request = upgradeRequest(port);
    const timer = setInterval(() => sock.write(request[Math.floor((performance.now() - opened) / 200)] ?? ""), 200);
    await once(sock, "close");
    clearInterval(timer);
    return { afterMs: performance.now() - opened, answer };
  })();

  const idle = await Promise.allSettled(Array.from({ length: 300 }, () => tcpWebSocket(port, "127.0.0.2")));
  const admitted = idle.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const refused = idle.flatMap((r) => (r.status === "rejected" ? [String(r.reason)] : []));
  expect(admitted.length).toBe(256);
  expect(new Set(refused)).toEqual(new Set(["Error: upgrade refused: HTTP/1.1 429 Too Many Requests"]));

  const neverEnding = (piece: string) => tcpWebSocket(port, "127.0.0.3").then((s) => (s.sock.write(wsFrame(Op.text, "{", false)), flood(s, repeat(wsFrame(Op.continuation, piece, false), 4096), false)));
  const fragments = Promise.all([neverEnding(""), neverEnding("x")]);
  let peakMiB = 0;
  const base = rssMiB(broker.proc.pid);
  const sampler = setInterval(() => (peakMiB = Math.max(peakMiB, rssMiB(broker.proc.pid) - base)), 20);
  await using _ = { [Symbol.asyncDispose]: async () => clearInterval(sampler) };
  const pings = Promise.all(Array.from({ length: 8 }, () => tcpWebSocket(port, "127.0.0.5").then((s) => flood(s, repeat(wsFrame(Op.ping, "p".repeat(125)), 512), true))));

  // All the while, the authenticated clients' sends reach their recipient.
  for (let i = 0; i < 10; i++) {
    await sendText(alice, bobMember.keys.publicKey, `during ${i}`);
    await bob.waitMessages(i + 1, 10_000);
  }

  expect(await pings).toEqual(Array(8).fill(closedBy("rate_limited")));
  clearInterval(sampler);
  expect(peakMiB).toBeLessThan(64); // without onPing: 8 × 16 MiB of pongs
  expect(await fragments).toEqual([closedBy("hello_timeout"), { close: 1009, errors: [] }]);
  expect(await Promise.all(admitted.map(outcome))).toEqual(Array(256).fill(closedBy("hello_timeout")));
  const { afterMs, answer } = await trickled;
  expect(answer).toBe("");
  expect(afterMs).toBeLessThan(30_000);

  const metrics = await (await fetch(`${broker.url}/metrics`)).text();
  const rejected = (reason: string) => Number(new RegExp(`broker_connections_rejected_total\\{reason="${reason}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
  expect({ hello_timeout: rejected("hello_timeout"), too_many_connections: rejected("too_many_connections"), rate_limited: rejected("rate_limited") }).toEqual({ hello_timeout: 257, too_many_connections: 44, rate_limited: 8 });
  await sendText(alice, bobMember.keys.publicKey, "after");
  await bob.waitMessages(11);
  alice.close();
  bob.close();
}, 60_000);
