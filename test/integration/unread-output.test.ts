// Clients that do not read what they are sent (protocol §2.8, §8.2): the broker stops handling and
// reading a connection whose unsent output reached PAUSE_BYTES, so what it holds for one stays
// bounded however many answers the client asks for; pongs count only when they echo one of the
// broker's pings, so unsolicited ones keep no non-reader open; and real clients, which read, keep
// their connections.
import { expect, test } from "bun:test";
import { startBroker, type TestBroker } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh, sendText, type TestMember } from "../helpers/mesh.ts";
import { Op, tcpWebSocket, wsFrame, type TcpWebSocket } from "../helpers/raw.ts";
import { buildHello } from "../../src/client/credentials.ts";
import { until } from "../helpers/until.ts";
import { cli } from "../helpers/cli.ts";
import { startMcp, waitConnected } from "../helpers/mcp.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { CONGESTED_BYTES } from "../../src/broker/conn.ts";

/** A raw connection of `m` past its hello_ack, that reads nothing from then on. */
async function nonReader(b: TestBroker, m: TestMember): Promise<TcpWebSocket> {
  const raw = await tcpWebSocket(b.port);
  raw.sendText(JSON.stringify(buildHello({ kind: "member", meshId: m.meshId, memberId: m.memberId, keys: m.keys }, { sessionId: `s-${m.displayName}`, pid: 1, cwd: "/tmp", hostname: "h" })));
  await raw.until(() => raw.frames.some((f) => f.includes("hello_ack")), 5_000, "hello_ack");
  raw.sock.pause();
  return raw;
}

const connOf = (b: TestBroker, pubkey: string) => [...b.ctx.hub.allConns()].filter((c) => c.identity?.pubkey === pubkey);

/** #general with two posts of ~60 KB of ciphertext each: every topic_history answer is ~120 KB. */
async function bigHistory(b: TestBroker, owner: TestMember) {
  const tx = await connect(b.url, owner);
  for (let i = 0; i < 2; i++) await sendText(tx, "#general", `<h${i}> ${"h".repeat(44_000)}`);
  tx.close();
}

test("a connection that asks for answers and never reads them: the broker holds at most ~2 MiB for it and stops reading it", async () => {
  await using b = await startBroker({ pingInterval: 600_000 }); // liveness stays out of the way
  const { owner } = await createTestMesh(b.url);
  const bob = await addMember(b.url, owner, "bob");
  await bigHistory(b, owner);
  const raw = await nonReader(b, bob);
  try {
    // ~36 MB of answers asked for, far past what the kernel's buffers on both sides take.
    const ask = Buffer.concat(Array.from({ length: 300 }, (_, i) => wsFrame(Op.text, JSON.stringify({ type: "topic_history", id: i, topic: "general" }))));
    raw.sock.write(ask);
    const [conn] = connOf(b, bob.keys.publicKey);
    let most = 0;
    const end = performance.now() + 2_000;
    while (performance.now() < end) {
      most = Math.max(most, conn!.transport.buffered());
      await Bun.sleep(10);
    }
    // Before: answers were written whatever the socket held, up to Bun's 16 MiB.
    expect(most).toBeGreaterThan(CONGESTED_BYTES);
    expect(most).toBeLessThan(2 * CONGESTED_BYTES + 256 * 1024);
    expect(conn!.readingIsPaused).toBe(true);
    const metrics = await (await fetch(`${b.url}/metrics`)).text();
    const unsent = Number(/\nbroker_unsent_bytes (\d+)/.exec(metrics)?.[1]);
    expect(unsent).toBe(conn!.transport.buffered());
    expect(metrics).toContain("\nbroker_connections_paused 1\n");
    // Its other requests wait in TCP: another client of the mesh is served meanwhile.
    const other = await connect(b.url, owner);
    expect((await other.client.request("topic_history", { topic: "general" })).messages).toHaveLength(2);
    other.close();
  } finally {
    raw.sock.destroy();
  }
}, 30_000);

test("a non-reader sending unsolicited pongs is closed within two intervals; with its output stuck, within three", async () => {
  const pingMs = 300;
  await using b = await startBroker({ pingInterval: pingMs });
  const { owner } = await createTestMesh(b.url);
  const quiet = await addMember(b.url, owner, "quiet");
  const asker = await addMember(b.url, owner, "asker");
  await bigHistory(b, owner);
  const forgers = [await nonReader(b, quiet), await nonReader(b, asker)];
  // RFC 6455 allows a pong nobody asked for; the pong of a client that read nothing.
  const forging = setInterval(() => forgers.forEach((r) => r.sock.write(wsFrame(Op.pong, "alive"))), 50);
  try {
    forgers[1]!.sock.write(Buffer.concat(Array.from({ length: 300 }, (_, i) => wsFrame(Op.text, JSON.stringify({ type: "topic_history", id: i, topic: "general" })))));
    const started = performance.now();
    await until(() => connOf(b, quiet.keys.publicKey).length === 0, "the quiet forger closed", 2 * pingMs + 1_000);
    await until(() => connOf(b, asker.keys.publicKey).length === 0, "the asking forger closed", 3 * pingMs + 1_000);
    expect(performance.now() - started).toBeLessThan(3 * pingMs + 1_000);
    expect(b.logs.some((l) => l.includes("output not taken: not reading"))).toBe(true);
  } finally {
    clearInterval(forging);
    forgers.forEach((r) => r.sock.destroy());
  }
}, 30_000);

test("real clients keep their connections over many ping intervals: idle, and receiving a backlog", async () => {
  const pingMs = 200;
  await using b = await startBroker({ pingInterval: pingMs });
  const { owner } = await createTestMesh(b.url);
  const bob = await addMember(b.url, owner, "bob");
  const tx = await connect(b.url, owner);
  const rx = await connect(b.url, bob);
  const ids = () => [...b.ctx.hub.allConns()].map((c) => c.id).sort();
  const before = ids();
  await Bun.sleep(10 * pingMs);
  for (let i = 0; i < 60; i++) await sendText(tx, bob.keys.publicKey, `<m${i}> ${"b".repeat(44_000)}`);
  await rx.waitMessages(60, 10_000);
  await Bun.sleep(5 * pingMs);
  expect(ids()).toEqual(before);
  expect(b.logs.some((l) => l.includes("closing unresponsive connection"))).toBe(false);
  tx.close();
  rx.close();
}, 30_000);

test("the MCP server keeps its connection over many ping intervals", async () => {
  const pingMs = 200;
  await using b = await startBroker({ pingInterval: pingMs });
  const home = tempDir("cm-mcp-");
  expect((await cli(home, ["new", "Team", "--broker", b.url, "--display-name", "alice"])).code).toBe(0);
  await using mcp = await startMcp(home, "sess-pace");
  await waitConnected(mcp);
  const ids = () => [...b.ctx.hub.allConns()].map((c) => c.id).sort();
  const before = ids();
  await Bun.sleep(12 * pingMs);
  expect((await mcp.call("mesh_peers")).isError).toBe(false);
  expect(ids()).toEqual(before);
  expect(b.logs.some((l) => l.includes("closing unresponsive connection"))).toBe(false);
}, 30_000);
