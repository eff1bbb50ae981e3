// The per-connection frame allowance (protocol §2.2, `requestRate`/`requestBurst`): a connection
// that asks faster than its allowance is slowed by not being read, not refused; the frames that
// move messages (admitted sends, acks of what the connection was given) cost nothing; refusals and
// acks of ids it was not given do; a connection closed while it waits leaves nothing behind, and one
// whose client goes away meanwhile is let go at once (its socket is read up to a bound meanwhile).
import { expect, test } from "bun:test";
import { startBroker, type TestBroker } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh, sendText, textOf, type TestMember } from "../helpers/mesh.ts";
import { tcpWebSocket, type TcpWebSocket } from "../helpers/raw.ts";
import { buildHello } from "../../src/client/credentials.ts";
import { until } from "../helpers/until.ts";
import { call, code, session } from "../helpers/dashboard.ts";
import { gauge } from "../helpers/chaos.ts";
import type { Conn } from "../../src/broker/conn.ts";
import { READ_AHEAD_FRAMES } from "../../src/broker/ws/frame-line.ts";

/** A raw connection of `m` past its hello_ack, which reads everything it is sent. */
async function rawMember(b: TestBroker, m: TestMember): Promise<TcpWebSocket> {
  const raw = await tcpWebSocket(b.port);
  raw.sendText(JSON.stringify(buildHello({ kind: "member", meshId: m.meshId, memberId: m.memberId, keys: m.keys }, { sessionId: `s-${m.displayName}`, pid: 1, cwd: "/tmp", hostname: "h" })));
  await raw.until(() => raw.frames.some((f) => f.includes("hello_ack")), 5_000, "hello_ack");
  return raw;
}

const answers = (raw: TcpWebSocket, kind: "result" | "error") => raw.frames.filter((f) => f.startsWith(`{"type":"${kind}","id":`)).length;

async function paces(b: TestBroker): Promise<number> {
  const text = await (await fetch(`${b.url}/metrics`)).text();
  return Number(/\nbroker_connection_paces_total (\d+)/.exec(text)?.[1]);
}

test("a connection asking faster than its frame allowance gets every answer, paced; another connection is served meanwhile", async () => {
  await using b = await startBroker({ requestRate: 20, requestBurst: 10 });
  const { owner } = await createTestMesh(b.url);
  const bob = await addMember(b.url, owner, "bob");
  const raw = await rawMember(b, bob);
  const other = await connect(b.url, owner);
  try {
    const t0 = performance.now();
    for (let i = 1; i <= 50; i++) raw.sendText(JSON.stringify({ type: "list_peers", id: i }));
    // The burst is answered at once; the rest at the allowance's rate (20 a second).
    await raw.until(() => answers(raw, "result") >= 10, 2_000, "the burst's answers");
    const asked = performance.now();
    const answer = await other.client.request("list_peers", {});
    expect(performance.now() - asked).toBeLessThan(500);
    expect(answer.peers.length).toBeGreaterThan(0);
    await raw.until(() => answers(raw, "result") === 50, 10_000, "all 50 answers");
    const took = performance.now() - t0;
    // Before the allowance all 50 were answered within a few ms. Now the 40 past the burst take
    // 40 / 20 s; the timers' own slack only adds to it.
    expect(took).toBeGreaterThan(1_800);
    expect(took).toBeLessThan(6_000);
    expect(answers(raw, "error")).toBe(0);
    expect(raw.closed()).toBeNull();
    expect(await paces(b)).toBeGreaterThanOrEqual(40);
    // The paced connection is named, once a minute at most (the review: only the counter moved).
    const named = b.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === "pacing connection");
    expect(named).toEqual([expect.objectContaining({ level: "info", meshId: bob.meshId, memberId: bob.memberId, pubkey: bob.keys.publicKey.slice(0, 12), ip: "127.0.0.1", requestRate: 20, requestBurst: 10, notLoggedSinceLast: 0 })]);
  } finally {
    other.close();
    raw.sock.destroy();
  }
});

test("sends and acks of the connection's own messages cost nothing; refusals and acks of ids it was not given cost the allowance", async () => {
  await using b = await startBroker({ requestRate: 10, requestBurst: 5, sendRate: 1_000, sendBurst: 1_000 });
  const { owner } = await createTestMesh(b.url);
  const carol = await addMember(b.url, owner, "carol");
  const tx = await connect(b.url, owner);
  const rx = await connect(b.url, carol);
  try {
    // 60 messages each way through the message path: far past the burst of 5, never paced.
    for (let i = 0; i < 60; i++) await sendText(tx, carol.keys.publicKey, `m${i}`);
    await rx.waitMessages(60);
    rx.client.ackMessages(rx.messages.map((m) => m.messageId));
    await until(async () => (await b.ctx.store.totalQueueDepth()) === 0, "the acks committed", 5_000);
    expect(await paces(b)).toBe(0);
  } finally {
    tx.close();
    rx.close();
  }
  // Acks naming 64 ids this connection was never given: one token each, so 20 of them take
  // (20 - 5) / 10 s. Before the allowance they were answered within a few ms.
  const raw = await rawMember(b, carol);
  try {
    const ids = JSON.stringify(Array.from({ length: 64 }, (_, k) => `msg_${String(k).padStart(20, "0")}`));
    const t0 = performance.now();
    for (let i = 1; i <= 20; i++) raw.sendText(`{"type":"ack","id":${i},"messageIds":${ids}}`);
    await raw.until(() => answers(raw, "result") === 20, 10_000, "20 ack results");
    expect(performance.now() - t0).toBeGreaterThan(1_300);
    const paced = await paces(b);
    expect(paced).toBeGreaterThan(0);
    // Refused sends (no such recipient) cost a token each too.
    const t1 = performance.now();
    for (let i = 21; i <= 40; i++) raw.sendText(JSON.stringify({ type: "send", id: i, to: "nobody-here", clientMessageId: `c${i}`, nonce: "n".repeat(32), ciphertext: "aGk=" }));
    await raw.until(() => answers(raw, "error") === 20, 10_000, "20 refusals");
    expect(performance.now() - t1).toBeGreaterThan(1_300);
    expect(await paces(b)).toBeGreaterThan(paced);
  } finally {
    raw.sock.destroy();
  }
});

test("a connection the broker closes while it waits out its allowance is let go at once: its wait ends and its bucket goes", async () => {
  await using b = await startBroker({ requestRate: 1, requestBurst: 1 });
  const { owner } = await createTestMesh(b.url);
  const raw = await rawMember(b, owner);
  const before = b.ctx.frameAllowance.size;
  // An ack of 512 ids it was not given costs 8 tokens: the frame behind it waits ~8 s.
  raw.sendText(`{"type":"ack","messageIds":${JSON.stringify(Array.from({ length: 512 }, (_, k) => `msg_${String(k).padStart(20, "0")}`))}}`);
  raw.sendText(JSON.stringify({ type: "list_peers", id: 1 }));
  const [conn] = [...b.ctx.hub.allConns()];
  await until(() => conn!.pacing, "the connection waiting", 2_000);
  // As a kick, a liveness close or the shutdown drain closes it. (A client that goes away is
  // noticed because its socket is still read during the wait: the tests below.)
  conn!.close(1000, "bye");
  // Before onClose ended it, the wait (and the Conn with it) lasted its whole 8 s.
  await until(() => !conn!.pacing, "the wait ended with the connection", 1_000);
  await until(() => [...b.ctx.hub.allConns()].length === 0, "the connection gone", 5_000);
  expect(b.ctx.frameAllowance.size).toBeLessThan(before + 1);
  expect(answers(raw, "result")).toBe(0);
  raw.sock.destroy();
});

test("a client that goes away while it waits out its allowance is let go at once: nothing more answered, its claims and its slot released", async () => {
  await using b = await startBroker({ requestRate: 2, requestBurst: 5 });
  const { owner } = await createTestMesh(b.url);
  const bob = await addMember(b.url, owner, "bob");
  const tx = await connect(b.url, owner);
  const raw = await rawMember(b, bob);
  let other: Awaited<ReturnType<typeof connect>> | undefined;
  try {
    // A message pushed to the raw connection, which never acks it: claimed by that connection.
    await sendText(tx, bob.keys.publicKey, "held");
    await raw.until(() => raw.frames.some((f) => f.startsWith('{"type":"message"')), 5_000, "the push");
    // 20 requests: 5 answered at once, then one every 500 ms.
    for (let i = 1; i <= 20; i++) raw.sendText(JSON.stringify({ type: "list_peers", id: i }));
    await raw.until(() => answers(raw, "result") >= 6, 5_000, "the burst and a paced answer");
    // Another connection of bob's: it gets nothing while the raw one holds the message.
    other = await connect(b.url, bob);
    expect(await gauge(b.url, "broker_connections_active")).toBe(3);
    const conn = [...b.ctx.hub.allConns()].find((c) => c.where?.sessionId === "s-bob") as Conn & { queuedFrames: number; queuedChars: number };
    const answered = answers(raw, "result");
    const t0 = performance.now();
    raw.sock.end(); // FIN: the client is done (it still reads, so what it is sent can be counted)
    // Before, the close was read only once the 14 frames behind the wait had been answered, one
    // every 500 ms: the message stayed claimed, and the slot taken, for 7 s.
    await other.waitMessages(1, 3_000);
    expect(performance.now() - t0).toBeLessThan(1_500);
    expect(textOf(other.messages[0]!)).toBe("held");
    await until(async () => (await gauge(b.url, "broker_connections_active")) === 2, "the slot released", 1_000);
    await raw.ended;
    // Nothing handled for the connection after its close (one answer may have been on its way).
    expect(answers(raw, "result")).toBeLessThanOrEqual(answered + 1);
    // The frames it left waiting were dropped, and the counts of them with them.
    await until(() => conn.queuedFrames === 0 && conn.queuedChars === 0, "the frames waiting dropped", 1_000);
    expect(conn.pacing).toBe(false);
  } finally {
    other?.close();
    tx.close();
    raw.sock.destroy();
  }
});

test("a client closing while it waits out its allowance leaves at once: its peers hear peer_left", async () => {
  await using b = await startBroker({ requestRate: 2, requestBurst: 5, presenceGrace: 0 });
  const { owner } = await createTestMesh(b.url);
  const bob = await addMember(b.url, owner, "bob");
  const watcher = await connect(b.url, owner);
  const peer = await connect(b.url, bob);
  try {
    let done = 0;
    for (let i = 0; i < 20; i++) peer.client.request("list_peers", {}).then(() => done++, () => {});
    await until(() => done >= 6, "the burst and a paced answer", 5_000);
    const t0 = performance.now();
    peer.close(); // its close frame waits behind 14 requests, answered one every 500 ms before
    await watcher.waitEvent((e) => e.event === "peer_left" && e.data.pubkey === bob.keys.publicKey, 3_000);
    expect(performance.now() - t0).toBeLessThan(1_500);
  } finally {
    watcher.close();
    peer.close();
  }
});

test("a paced connection is read only so far ahead: what it sends past that waits in TCP, not in the broker", async () => {
  await using b = await startBroker({ requestRate: 100, requestBurst: 10 });
  const { owner } = await createTestMesh(b.url);
  const raw = await rawMember(b, owner);
  try {
    // 5,000 requests (50 s of allowance) in batches a few ms apart: read as they came, more than
    // 4,096 would wait in the broker, which closes such a connection as a flood.
    for (let i = 1; i <= 5_000; i++) {
      raw.sendText(JSON.stringify({ type: "list_peers", id: i }));
      if (i % 250 === 0) await Bun.sleep(20);
    }
    await Bun.sleep(500);
    expect(raw.closed()).toBeNull();
    expect(answers(raw, "error")).toBe(0);
    const [conn] = [...b.ctx.hub.allConns()] as (Conn & { queuedFrames: number })[];
    expect(conn!.queuedFrames).toBeLessThan(READ_AHEAD_FRAMES + 250);
  } finally {
    raw.sock.destroy();
  }
});

test("a dashboard session asking past its allowance is answered 429 with Retry-After; whether it is signed in is still answered", async () => {
  await using b = await startBroker({ requestRate: 5, requestBurst: 5 });
  const { owner } = await createTestMesh(b.url);
  const cookie = await session(b, owner);
  const statuses = [];
  for (let i = 0; i < 8; i++) statuses.push(await call(b, "GET", "/v1/dashboard/me", { cookie }));
  expect(statuses.slice(0, 5).map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
  const refused = statuses.at(-1)!;
  expect(code(refused)).toEqual({ status: 429, code: "rate_limited" });
  expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  // One allowance for every route acting as the member; where refusals are counted (the mesh
  // view), as the same limit a connection's frames spend.
  expect(code(await call(b, "GET", "/v1/dashboard/mesh", { cookie }))).toEqual({ status: 429, code: "rate_limited" });
  expect(await (await fetch(`${b.url}/metrics`)).text()).toMatch(/\nbroker_messages_rejected_total\{reason="rate_limited",limit="frames"\} 1\n/);
  // The page asks this to tell a throttled session from an ended one: never charged, never refused.
  for (let i = 0; i < 3; i++) expect((await call(b, "GET", "/v1/dashboard/session", { cookie })).body).toEqual({ member: true, operator: false });
  await Bun.sleep(400); // two tokens
  expect((await call(b, "GET", "/v1/dashboard/me", { cookie })).status).toBe(200);
});

test("a connection waiting out its allowance longer than the ping interval is not closed as silent", async () => {
  await using b = await startBroker({ requestRate: 1, requestBurst: 1, pingInterval: 1000 });
  const { owner } = await createTestMesh(b.url);
  const peer = await connect(b.url, owner);
  try {
    // 512 ids it was never given: 8 tokens, so its next frame (and its pongs) wait ~8 s unread.
    peer.client.ackMessages(Array.from({ length: 512 }, (_, k) => `msg_${String(k).padStart(20, "0")}`));
    await Bun.sleep(200);
    const asked = performance.now();
    await peer.client.request("list_peers", {});
    expect(performance.now() - asked).toBeGreaterThan(5_000);
    // Before: liveness took the unread pong for silence and closed it after a round or two.
    expect(b.logs.filter((l) => l.includes("closing unresponsive connection"))).toEqual([]);
  } finally {
    peer.close();
  }
}, 30_000);
