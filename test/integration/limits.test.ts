// Hostile and oversized input: each gets a specific error, the connection survives where it
// should, the server stays up, and the database is unchanged.
import { CHANGE_BURST, CHANGE_RATE_PER_SEC } from "../../src/protocol/limits.ts";
import { RateLimiter } from "../../src/broker/rate-limit.ts";
import { describe, expect, test } from "bun:test";
import { startBroker, type TestBroker } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh, envelope, sendText } from "../helpers/mesh.ts";
import { rawSocket } from "../helpers/raw.ts";
import { heapStats } from "bun:jsc";
import { buildHello } from "../../src/client/credentials.ts";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";
import { holdSyncs } from "../helpers/wal.ts";
import { until } from "../helpers/until.ts";

function rowCounts(b: TestBroker) {
  const db = (b.ctx.store as SqliteStore).db;
  const count = (t: string) => (db.query(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number }).n;
  return { messages: count("messages"), queue: count("queue"), members: count("members"), audit: count("audit_log") };
}

/** Frames the broker's only connection has received and not yet answered. */
const queuedFrames = (b: TestBroker) => ([...b.ctx.hub.allConns()][0] as unknown as { queuedFrames: number }).queuedFrames;

async function helloed(b: TestBroker) {
  const { owner } = await createTestMesh(b.url);
  const s = await rawSocket(b.url);
  s.send(buildHello({ kind: "member", meshId: owner.meshId, memberId: owner.memberId, keys: owner.keys }, { sessionId: "x", pid: 1, cwd: "/" }));
  expect((await s.next()).type).toBe("hello_ack");
  return s;
}

describe("frame limits", () => {
  test("oversize, too-deep, garbage and invalid frames get specific errors and change nothing", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const s = await rawSocket(b.url);
    s.send(buildHello({ kind: "member", meshId: owner.meshId, memberId: owner.memberId, keys: owner.keys }, { sessionId: "x", pid: 1, cwd: "/" }));
    expect((await s.next()).type).toBe("hello_ack");
    const before = rowCounts(b);
    const big = { type: "send", id: "big", to: bob.keys.publicKey, clientMessageId: "big-00000001", ...envelope("x".repeat(70_000)) };
    const cases: [unknown, string][] = [
      [big, "frame_too_large"],
      ["[".repeat(40) + "]".repeat(40), "too_deep"],
      ["[".repeat(10_000), "too_deep"],
      ["not json at all", "invalid_json"],
      [{ type: "teleport", id: "t" }, "unknown_type"],
      [{ type: "send", id: "s1", to: "nobody", clientMessageId: "abcdefgh", ...envelope("x") }, "invalid_frame"],
      [{ type: "send", id: "s2", to: bob.keys.publicKey, clientMessageId: "abcdefgh", ...envelope("x"), extra: 1 }, "invalid_frame"],
      [JSON.stringify({ type: "list_peers", id: "p" }).replace("{", '{"__proto__":{"polluted":1},'), "invalid_frame"],
    ];
    for (const [frame, code] of cases) {
      s.send(frame);
      const reply = await s.next();
      expect({ type: reply.type, code: reply.code }).toEqual({ type: "error", code });
    }
    expect(({} as any).polluted).toBeUndefined();
    s.send({ type: "list_peers", id: "still-alive" });
    expect((await s.next()).id).toBe("still-alive");
    expect(rowCounts(b)).toEqual(before);
    s.ws.close();
  });

  test("with maxFrameBytes above 64 KiB, the error for an invalid frame over 64 KiB still carries its id", async () => {
    await using b = await startBroker({ maxFrameBytes: 256 * 1024 });
    const { owner } = await createTestMesh(b.url);
    const s = await rawSocket(b.url);
    s.send(buildHello({ kind: "member", meshId: owner.meshId, memberId: owner.memberId, keys: owner.keys }, { sessionId: "x", pid: 1, cwd: "/" }));
    expect((await s.next()).type).toBe("hello_ack");
    s.send({ type: "list_peers", id: "big", pad: "x".repeat(100_000) });
    expect(await s.next()).toMatchObject({ type: "error", id: "big", code: "invalid_frame" });
    s.ws.close();
  });

  test("frames waiting to be handled are bounded in size: past 8 MiB of them the connection is closed as flooding", async () => {
    // Counting frames alone let 4096 frames of up to 1 MiB each wait: gigabytes per connection.
    await using b = await startBroker({ synchronous: "full", maxFrameBytes: 1024 * 1024 });
    const s = await helloed(b);
    using flushes = holdSyncs();
    s.send({ type: "set_status", id: "st", status: "working" });
    const frame = JSON.stringify({ type: "list_peers", id: "p", pad: "x".repeat(1_000_000) }); // each within maxFrameBytes
    for (let i = 0; i < 9; i++) s.send(frame); // the ninth passes 8 MiB
    expect(await s.next()).toMatchObject({ type: "error", code: "rate_limited" });
    expect(await s.closed).toEqual({ code: 1008, reason: "rate_limited" });
    flushes.release();
  });

  test("oversized frames waiting behind a request are answered in their turn and do not count toward that bound", async () => {
    await using b = await startBroker({ synchronous: "full" });
    const s = await helloed(b);
    using flushes = holdSyncs();
    s.send({ type: "set_status", id: "st", status: "working" });
    const oversized = JSON.stringify({ type: "list_peers", id: "big", pad: "x".repeat(100_000) }); // over 64 KiB
    for (let i = 0; i < 120; i++) s.send(oversized); // 12 MB of text, none of it kept
    s.send({ type: "list_peers", id: "after" });
    await until(() => queuedFrames(b) === 122, "every frame queued behind the held set_status");
    flushes.release();
    expect(await s.next()).toMatchObject({ type: "result", id: "st" });
    for (let i = 0; i < 120; i++) expect(await s.next()).toMatchObject({ type: "error", code: "frame_too_large" });
    expect(await s.next()).toMatchObject({ type: "result", id: "after" });
    s.ws.close();
  });

  test("the text of an oversized frame is not kept while it waits", async () => {
    // A closure made in the frame handler's own scope held that scope, and the frame's text in it.
    await using b = await startBroker({ synchronous: "full" });
    const s = await helloed(b);
    using flushes = holdSyncs();
    const heap = () => {
      Bun.gc(true);
      const h = heapStats();
      return h.heapSize + h.extraMemorySize;
    };
    const before = heap();
    s.send({ type: "set_status", id: "st", status: "working" });
    const oversized = JSON.stringify({ type: "set_summary", id: "big", summary: "a".repeat(250 * 1024) });
    for (let i = 0; i < 200; i++) s.send(oversized); // 50 MB
    await until(() => queuedFrames(b) === 201, "every frame queued behind the held set_status");
    expect(heap() - before).toBeLessThan(20_000_000);
    flushes.release();
    s.ws.close();
  });

  test("a frame over the transport cap closes the socket with 1009", async () => {
    await using b = await startBroker({ maxFrameBytes: 4096 });
    const s = await rawSocket(b.url);
    s.send("x".repeat(4096 * 4 + 10));
    expect((await s.closed).code).toBe(1009);
  });
});

describe("rate and connection limits", () => {
  test("sends over the member's burst are refused with rate_limited", async () => {
    await using b = await startBroker({ sendBurst: 3, sendRate: 1 });
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const a = await connect(b.url, owner);
    const results = await Promise.allSettled([1, 2, 3, 4, 5].map((i) => sendText(a, bob.keys.publicKey, `m${i}`)));
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "fulfilled", "rejected", "rejected"]);
    expect((results[3] as PromiseRejectedResult).reason.code).toBe("rate_limited");
    a.close();
  });

  test("requests that write an audit entry are limited per member; a refused one records nothing", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const a = await connect(b.url, bob);
    // The bucket's clock moves only when the test moves it: on a loaded host the real one refilled
    // a few tokens while the requests were answered, and the count was a range.
    let nowMs = 0;
    (b.ctx as { changeLimiter: RateLimiter }).changeLimiter = new RateLimiter(CHANGE_RATE_PER_SEC, CHANGE_BURST, () => nowMs);
    const before = (await a.client.request("audit_log", { limit: 500 })).entries.length;
    // Alternating caps (counted from the last accepted request), so that each accepted grant_set
    // changes something and writes an entry.
    const grants = async (n: number, accepted: number) => {
      const results = await Promise.allSettled(Array.from({ length: n }, (_, i) => a.client.request("grant_set", { peer: owner.keys.publicKey, caps: ((accepted + i) % 2 ? [] : ["dm"]) as never })));
      return results.map((r) => (r.status === "fulfilled" ? "ok" : (r.reason as { code: string }).code));
    };
    const burst = await grants(CHANGE_BURST + 5, 0);
    expect(burst).toEqual([...Array(CHANGE_BURST).fill("ok"), ...Array(5).fill("rate_limited")]);
    nowMs += 1000;
    const second = await grants(CHANGE_RATE_PER_SEC + 1, CHANGE_BURST);
    expect(second).toEqual([...Array(CHANGE_RATE_PER_SEC).fill("ok"), "rate_limited"]);
    expect((await a.client.request("audit_log", { limit: 500 })).entries.length).toBe(before + CHANGE_BURST + CHANGE_RATE_PER_SEC);
    // Reading is not charged; sends have their own budget.
    for (let i = 0; i < 5; i++) await a.client.request("grant_list", {});
    await sendText(a, owner.keys.publicKey, "still sending");
    a.close();
  });

  test("a retried send is answered as a duplicate even when the rate limit or quota would refuse it", async () => {
    await using b = await startBroker({ sendBurst: 1, sendRate: 1, queueQuota: 1 });
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const a = await connect(b.url, owner);
    const first = await sendText(a, bob.keys.publicKey, "x", { clientMessageId: "only-once-01" });
    const retry = await sendText(a, bob.keys.publicKey, "x", { clientMessageId: "only-once-01" });
    expect(retry).toEqual({ ...first, duplicate: true });
    await expect(sendText(a, bob.keys.publicKey, "y")).rejects.toMatchObject({ code: "rate_limited" });
    a.close();
  });

  test.each([
    ["the rate limit", { sendBurst: 1, sendRate: 1 }],
    ["the quota", { queueQuota: 1 }],
  ] as const)("a retry sent while its original is still being committed is a duplicate, not refused by %s", async (_, limits) => {
    await using b = await startBroker(limits);
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob"); // offline: the message is queued
    const a = await connect(b.url, owner, { receive: "pull" });
    const frame = { to: bob.keys.publicKey, clientMessageId: "retried-early-01", ...envelope("x") };
    const [first, retry] = await Promise.all([a.client.request("send", frame), a.client.request("send", frame)]);
    expect(retry).toEqual({ ...first, duplicate: true });
    expect(first.duplicate).toBe(false);
    a.close();
  });

  test("connections per address are capped at the upgrade (429 too_many_connections)", async () => {
    await using b = await startBroker({ maxConnectionsPerIp: 2 });
    const s1 = await rawSocket(b.url);
    const s2 = await rawSocket(b.url);
    const res = await fetch(`${b.url}/ws`, { headers: { upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" } });
    expect(res.status).toBe(429);
    expect((await res.json()).error.code).toBe("too_many_connections");
    // The line says the limit, the count, and (a loopback address) what a proxy in front needs.
    const line = b.logs.map((l) => JSON.parse(l)).find((l) => l.reason === "too_many_connections");
    expect(line).toMatchObject({ msg: "connection refused before its hello", ip: "127.0.0.1", limit: 2, open: 2 });
    expect(line.hint).toContain("trustedProxies");
    s1.ws.close();
    s2.ws.close();
  });

  test("upgrades that arrive together cannot pass the per-address cap", async () => {
    await using b = await startBroker({ maxConnectionsPerIp: 3 });
    const tries = await Promise.allSettled(Array.from({ length: 30 }, () => rawSocket(b.url)));
    expect(tries.filter((t) => t.status === "fulfilled").length).toBe(3);
    for (const t of tries) if (t.status === "fulfilled") t.value.ws.close();
  });

  test.each(["127.0.0.1", "127.0.0.0/8"])("behind a trusted proxy (%s) on a dual-stack listener, each forwarded client has its own per-address count", async (proxy) => {
    // Listening on :: Bun reports IPv4 peers as ::ffff:127.0.0.1.
    await using b = await startBroker({ host: "::", trustedProxies: proxy, maxConnectionsPerIp: 1 });
    const viaProxy = (client: string) =>
      new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${b.port}/ws`, { headers: { "x-forwarded-for": client } } as never);
        ws.onopen = () => resolve(ws);
        ws.onerror = () => reject(new Error(`upgrade for ${client} refused`));
      });
    const a = await viaProxy("203.0.113.1");
    const c = await viaProxy("203.0.113.2");
    await expect(viaProxy("203.0.113.1")).rejects.toThrow("refused");
    a.close();
    c.close();
  });

  test("connections per mesh are capped after the hello (capacity)", async () => {
    await using b = await startBroker({ maxConnectionsPerMesh: 1 });
    const { owner } = await createTestMesh(b.url);
    const first = await connect(b.url, owner);
    await expect(connect(b.url, owner, {}, { reconnect: false })).rejects.toMatchObject({ code: "capacity" });
    first.close();
  });

  test("hellos that arrive together cannot push a mesh past its connection limit", async () => {
    // With synchronous=full each handshake waits for a flush to disk, so twenty of them overlap.
    await using b = await startBroker({ maxConnectionsPerMesh: 2, synchronous: "full" });
    const { owner } = await createTestMesh(b.url);
    const socks = await Promise.all(Array.from({ length: 20 }, () => rawSocket(b.url)));
    socks.forEach((s, i) => s.send(buildHello({ kind: "member", meshId: owner.meshId, memberId: owner.memberId, keys: owner.keys }, { sessionId: `s${i}`, pid: i, cwd: "/" })));
    const firsts = await Promise.all(socks.map((s) => s.next().then((f) => (f.type === "error" ? f.code : f.type))));
    expect({ acks: firsts.filter((f) => f === "hello_ack").length, capacity: firsts.filter((f) => f === "capacity").length }).toEqual({ acks: 2, capacity: 18 });
    expect(b.ctx.hub.meshConnectionCount(owner.meshId)).toBe(2);
    socks.forEach((s) => s.ws.close());
  });

  test("session hellos refused for capacity store nothing: no session row, no peer", async () => {
    await using b = await startBroker({ maxConnectionsPerMesh: 2, synchronous: "full" });
    const { owner } = await createTestMesh(b.url);
    const watcher = await connect(b.url, owner, { receive: "pull" });
    const keys = Array.from({ length: 6 }, () => generateSigningKeypair());
    const socks = await Promise.all(keys.map(() => rawSocket(b.url)));
    socks.forEach((s, i) => s.send(buildHello({ kind: "session", meshId: owner.meshId, memberId: owner.memberId, memberKeys: owner.keys, sessionKeys: keys[i]! }, { sessionId: `s${i}`, pid: i, cwd: `/s${i}` })));
    const firsts = await Promise.all(socks.map((s) => s.next().then((f) => (f.type === "error" ? f.code : f.type))));
    expect(firsts.toSorted()).toEqual(["capacity", "capacity", "capacity", "capacity", "capacity", "hello_ack"]);
    const admitted = keys[firsts.indexOf("hello_ack")]!.publicKey;
    const db = (b.ctx.store as SqliteStore).db;
    expect(db.query("SELECT pubkey FROM sessions").all()).toEqual([{ pubkey: admitted }]);
    const peers = (await watcher.client.request("list_peers", {})).peers.map((p: { pubkey: string }) => p.pubkey);
    expect(peers.filter((k: string) => keys.some((s) => s.publicKey === k))).toEqual([admitted]);
    watcher.close();
    socks.forEach((s) => s.ws.close());
  });

  test("the hello_timeout message names the configured timeout", async () => {
    await using b = await startBroker({ helloTimeout: 300 });
    const s = await rawSocket(b.url);
    expect(await s.next()).toEqual({ type: "error", code: "hello_timeout", message: "No hello arrived within 300 ms of connecting. Send the hello first.", retryable: true });
    expect(await s.closed).toEqual({ code: 1008, reason: "hello_timeout" });
  });

  test("a queue at its quota refuses a DM with quota_exceeded", async () => {
    await using b = await startBroker({ queueQuota: 2, queueSenderShare: 100 }); // one sender: the mailbox bound alone
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const a = await connect(b.url, owner);
    await sendText(a, bob.keys.publicKey, "1");
    await sendText(a, bob.keys.publicKey, "2");
    await expect(sendText(a, bob.keys.publicKey, "3")).rejects.toMatchObject({ code: "quota_exceeded" });
    const bc = await sendText(a, "*", "broadcast");
    expect(bc.undeliverable).toEqual([{ to: bob.keys.publicKey, code: "quota_exceeded" }]);
    a.close();
  });
});
