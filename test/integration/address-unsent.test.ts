// Unsent output per client address (docs/protocol.md §2.2, operations.md `maxUnsentPerIp`). Each
// connection stops being handled at 2 MiB of output its client has not read, but an address may
// open 1,024 connections and one answer can be megabytes: before this bound, a hundred of one
// address's sockets that asked for member_list and read nothing made the broker hold 502 MB. Now
// the address's connections together hold about maxUnsentPerIp: past it each is held to its share,
// and an answer larger than its share is refused (`rate_limited`). A client at the same address that
// reads is still served; another address, or another client forwarded by a trusted proxy, is not
// touched; the log names the address and the metric counts it.
import { expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { randomId } from "../../src/crypto/hash.ts";
import { buildHello } from "../../src/client/credentials.ts";
import { startBroker, type TestBroker } from "../helpers/broker.ts";
import { connect, createTestMesh, type TestMember, type TestPeer } from "../helpers/mesh.ts";
import { Op, tcpWebSocket, wsFrame, type TcpWebSocket } from "../helpers/raw.ts";

const MiB = 1024 * 1024;
const CAP = 8 * MiB;
const NON_READERS = 24;

/** Posts 30 messages of 40,000 base64 characters to #general: each topic_history page is ~1.1 MB. */
async function bigHistory(peer: TestPeer): Promise<void> {
  const ciphertext = randomBytes(30_000).toString("base64");
  await Promise.all(Array.from({ length: 30 }, () => peer.client.request("send", { to: "#general", clientMessageId: randomId(), nonce: randomBytes(24).toString("base64"), ciphertext })));
}

/** A raw connection of `m` (from `localAddress`, default 127.0.0.1) past its hello_ack, that then
 *  asks for `asks` history pages and reads nothing. */
async function nonReader(b: TestBroker, m: TestMember, asks: number): Promise<TcpWebSocket> {
  const raw = await tcpWebSocket(b.port);
  raw.sendText(JSON.stringify(buildHello({ kind: "member", meshId: m.meshId, memberId: m.memberId, keys: m.keys }, { sessionId: randomId(), pid: 1, cwd: "/tmp", receive: "pull", events: [] })));
  await raw.until(() => raw.frames.some((f) => f.includes("hello_ack")), 5_000, "hello_ack");
  raw.sock.pause();
  raw.sock.write(Buffer.concat(Array.from({ length: asks }, (_, i) => wsFrame(Op.text, JSON.stringify({ type: "topic_history", id: i, topic: "general", limit: 500 })))));
  return raw;
}

/** Unsent bytes of every connection from 127.0.0.1, together. */
const unsentFromLoopback = (b: TestBroker) => [...b.ctx.hub.allConns()].filter((c) => c.transport.remoteAddress === "127.0.0.1").reduce((n, c) => n + c.transport.buffered(), 0);

/** The most unsent bytes of the loopback address seen over `ms`. */
async function mostUnsent(b: TestBroker, ms: number): Promise<number> {
  let most = 0;
  for (const end = performance.now() + ms; performance.now() < end; await Bun.sleep(10)) most = Math.max(most, unsentFromLoopback(b));
  return most;
}

test("non-reading sockets of one address hold about maxUnsentPerIp together, not 2 MiB and a page each", async () => {
  await using b = await startBroker({ pingInterval: 600_000, maxUnsentPerIp: CAP });
  const { owner } = await createTestMesh(b.url);
  const o = await connect(b.url, owner, { receive: "pull" });
  await bigHistory(o);
  o.close();
  const raws = await Promise.all(Array.from({ length: NON_READERS }, () => nonReader(b, owner, 40)));
  try {
    const most = await mostUnsent(b, 3_000);
    // Before: each held 2 MiB and the page that crossed it, ~3 MiB × 24 = ~70 MB. The bound is the
    // cap, plus a frame (here an error) for each connection.
    expect(most).toBeGreaterThan(CAP / 2);
    expect(most).toBeLessThan(CAP + NON_READERS * 64 * 1024);
    const line = b.logs.map((l) => JSON.parse(l)).find((l) => l.msg === "client address over its unsent-output cap");
    expect(line).toMatchObject({ level: "warn", ip: "127.0.0.1", capBytes: CAP, meshId: owner.meshId });
    expect(line.hint).toContain("trustedProxies"); // a loopback address: perhaps a proxy not listed
    const metrics = await (await fetch(`${b.url}/metrics`)).text();
    expect(Number(/\nbroker_address_unsent_capped_total\{action="refused"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThan(0);
    expect(Number(/\nbroker_messages_rejected_total\{reason="rate_limited",limit="unsent"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThan(0);
  } finally {
    raws.forEach((r) => r.sock.destroy());
  }
}, 60_000);

test("a client that reads, at the same address, is still answered and pushed to; another address and a forwarded client get their pages", async () => {
  await using b = await startBroker({ pingInterval: 600_000, maxUnsentPerIp: CAP, trustedProxies: "127.0.0.3" });
  const { owner } = await createTestMesh(b.url);
  const o = await connect(b.url, owner, { receive: "pull" });
  await bigHistory(o);
  const raws = await Promise.all(Array.from({ length: NON_READERS }, () => nonReader(b, owner, 40)));
  try {
    await mostUnsent(b, 1_500);
    expect(unsentFromLoopback(b)).toBeGreaterThan(CAP / 2);
    // Small answers and pushes reach the reader at the same address.
    const rx = await connect(b.url, owner);
    expect((await o.client.request("topic_list", {})).topics.map((t: { name: string }) => t.name)).toContain("general");
    await o.client.request("send", { to: owner.keys.publicKey, clientMessageId: randomId(), nonce: randomBytes(24).toString("base64"), ciphertext: "aGk=" });
    await rx.waitMessages(1);
    // A page larger than its share of the address's cap is refused, retryable, saying why.
    const refused = await o.client.request("topic_history", { topic: "general", limit: 500 }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: "rate_limited" });
    expect(String((refused as Error).message)).toContain("not read");
    // Another address, and a client a trusted proxy forwards, have their own allowance.
    for (const viaProxy of [false, true]) {
      const other = await tcpWebSocket(b.port, viaProxy ? "127.0.0.3" : "127.0.0.2", viaProxy ? { "x-forwarded-for": "203.0.113.9" } : {});
      other.sendText(JSON.stringify(buildHello({ kind: "member", meshId: owner.meshId, memberId: owner.memberId, keys: owner.keys }, { sessionId: randomId(), pid: 1, cwd: "/tmp", receive: "pull", events: [] })));
      other.sendText(JSON.stringify({ type: "topic_history", id: "page", topic: "general", limit: 500 }));
      await other.until(() => other.frames.some((f) => f.startsWith('{"type":"result","id":"page"') || f.includes('"id":"page"')), 10_000, "the page");
      expect(other.frames.find((f) => f.includes('"id":"page"'))).toStartWith('{"type":"result"');
      other.sock.destroy();
    }
    // Once the non-readers are gone, the address has room again.
    raws.forEach((r) => r.sock.destroy());
    for (let t = 0; ; t++) {
      const page = await o.client.request("topic_history", { topic: "general", limit: 500 }).catch((e: unknown) => e);
      if ((page as { messages?: unknown[] }).messages) break;
      if (t > 100) throw new Error("no page after the non-readers left");
      await Bun.sleep(50);
    }
    rx.close();
  } finally {
    raws.forEach((r) => r.sock.destroy());
    o.close();
  }
}, 60_000);
