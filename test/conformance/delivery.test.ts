// Delivery rules a client has to rely on: status gating (§5.7), grants (§5.9), quotas (§5.11),
// the send rate limit (§5.2, §8.2), presence grace (§2.7), admission limits (§2.6) and the
// per-address upgrade limit (§2.1).
import { expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { randomId, type Key } from "./wire.ts";
import { Conn, connect, handshake, helloFrame, until, type Frame, type Member } from "./transport.ts";
import { encodeInner, openMessage, sealDirect, sealFanout } from "./envelopes.ts";
import { closeAll, meshWith } from "./fixture.ts";

function dm(from: Member, to: string, body: string, priority?: "now" | "next" | "low", fromKey: Key = from.key): Frame {
  const id = randomId("cm");
  const inner = encodeInner({ v: 1, mesh: from.meshId, from: fromKey.pub, to, id, ts: Date.now(), kind: "text", body });
  return { type: "send", to, clientMessageId: id, ...sealDirect(fromKey, to, inner), ...(priority ? { priority } : {}) };
}

test("status gating: next/low are held while working, now is not; idle releases them in order", async () => {
  await using b = await startBroker();
  const { owner: alice, ownerConn: aliceConn, others } = await meshWith(b.url, ["bob"]);
  const { member: bob, conn: bobConn } = others[0]!;
  expect(await bobConn.ok({ type: "set_status", status: "working" })).toEqual({ status: "working", released: 0 });
  const ps = await aliceConn.event("peer_status", (d) => d.pubkey === bob.key.pub);
  expect(ps.data).toMatchObject({ status: "working", displayName: "bob" });

  const low = await aliceConn.ok(dm(alice, bob.key.pub, "low", "low"));
  const next = await aliceConn.ok(dm(alice, bob.key.pub, "next"));
  const now = await aliceConn.ok(dm(alice, bob.key.pub, "now", "now"));
  const first = await bobConn.message();
  expect(first.messageId).toBe(now.messageId);
  expect(await bobConn.sees((f) => f.type === "message", 150)).toBe(false);

  // idle reports how many are waiting and pushes the held ones, oldest first. `released` counts
  // every entry still in the mailbox, the pushed-but-unacked `now` message too, so ack it first.
  await bobConn.ok({ type: "ack", messageIds: [first.messageId] });
  const rel = await bobConn.ok({ type: "set_status", status: "idle" });
  expect(rel.status).toBe("idle");
  expect(rel.released).toBe(2);
  const a = await bobConn.message();
  const c = await bobConn.message();
  expect([a.messageId, c.messageId]).toEqual([low.messageId, next.messageId]);
  expect(openMessage(a as any, [bob.key]).body).toBe("low");
  await closeAll(aliceConn, bobConn);
});

test("grants: an empty list blocks silently; a member-key entry applies; null deletes", async () => {
  await using b = await startBroker();
  const { mesh, owner: alice, ownerConn: aliceConn, others } = await meshWith(b.url, ["bob"]);
  const { member: bob, conn: bobConn } = others[0]!;
  expect(await bobConn.ok({ type: "grant_set", peer: alice.key.pub, caps: [] })).toEqual({ peer: alice.key.pub, caps: [] });
  expect(await bobConn.ok({ type: "grant_list" })).toEqual({ grants: [{ peer: alice.key.pub, caps: [] }], defaults: ["dm", "broadcast", "group", "topic"] });

  const blocked = await aliceConn.ok(dm(alice, bob.key.pub, "you will not see this"));
  expect(blocked).toMatchObject({ duplicate: false, undeliverable: [] });
  // broadcast too (caps [] blocks every kind)
  const id = randomId("cm");
  const inner = encodeInner({ v: 1, mesh: mesh.meshId, from: alice.key.pub, to: "*", id, ts: Date.now(), kind: "text", body: "all" });
  await aliceConn.ok({ type: "send", to: "*", clientMessageId: id, ...sealFanout(alice.key, mesh.meshKeys.get(0)!, 0, mesh.meshId, "*", inner) });
  expect(await bobConn.sees((f) => f.type === "message", 150)).toBe(false);

  // only dm allowed
  await bobConn.ok({ type: "grant_set", peer: alice.key.pub, caps: ["dm"] });
  const ok = await aliceConn.ok(dm(alice, bob.key.pub, "now you do"));
  expect((await bobConn.message()).messageId).toBe(ok.messageId);
  expect(await bobConn.ok({ type: "grant_set", peer: alice.key.pub, caps: null })).toEqual({ peer: alice.key.pub, caps: null });
  expect((await bobConn.ok({ type: "grant_list" })).grants).toEqual([]);
  // a grant for a key that is nobody's is unknown_recipient; deleting one is allowed
  expect(await bobConn.call({ type: "grant_set", peer: "ab".repeat(32), caps: ["dm"] })).toMatchObject({ type: "error", code: "unknown_recipient" });
  expect(await bobConn.ok({ type: "grant_set", peer: "ab".repeat(32), caps: null })).toMatchObject({ caps: null });
  await closeAll(aliceConn, bobConn);
});

test("quota: a full mailbox refuses a direct message with quota_exceeded; a retry is still a duplicate", async () => {
  await using b = await startBroker({ queueQuota: 2, queueSenderShare: 100 } as never); // one sender: the mailbox bound alone (§5.11)
  const { owner: alice, ownerConn: aliceConn, others } = await meshWith(b.url, ["bob"]);
  const { member: bob, conn: bobConn } = others[0]!;
  await bobConn.close();
  const f1 = dm(alice, bob.key.pub, "1");
  await aliceConn.ok(f1);
  await aliceConn.ok(dm(alice, bob.key.pub, "2"));
  const full = await aliceConn.call(dm(alice, bob.key.pub, "3"));
  expect(full).toMatchObject({ type: "error", code: "quota_exceeded", retryable: true });
  // a retry of a stored message is recognised before the quota (§5.3)
  expect((await aliceConn.ok(f1)).duplicate).toBe(true);
  await closeAll(aliceConn);
});

test("rate limit: rate_limited is retryable; a retry of a stored send is never rate limited", async () => {
  await using b = await startBroker({ sendRate: 1, sendBurst: 2 } as never);
  const { owner: alice, ownerConn: aliceConn, ownerAck, others } = await meshWith(b.url, ["bob"]);
  const bob = others[0]!.member;
  expect(ownerAck.limits).toMatchObject({ sendRatePerSec: 1, sendBurst: 2 });
  const f1 = dm(alice, bob.key.pub, "1");
  await aliceConn.ok(f1);
  await aliceConn.ok(dm(alice, bob.key.pub, "2"));
  const limited = await aliceConn.call(dm(alice, bob.key.pub, "3"));
  expect(limited).toMatchObject({ type: "error", code: "rate_limited", retryable: true });
  expect((await aliceConn.ok(f1)).duplicate).toBe(true);
  await closeAll(aliceConn, others[0]!.conn);
});

test("presence: a close within presenceGrace re-attaches silently; after it peers get peer_left and online=false", async () => {
  await using b = await startBroker({ presenceGrace: 300 } as never);
  const { owner: alice, ownerConn: aliceConn, others } = await meshWith(b.url, ["bob"]);
  const { member: bob, conn: bobConn } = others[0]!;
  await bobConn.ok({ type: "set_summary", summary: "reading" });
  await bobConn.close();
  const left = await aliceConn.event("peer_left", (d) => d.pubkey === bob.key.pub, 3000);
  expect(left.data).toEqual({ pubkey: bob.key.pub, memberId: bob.memberId, displayName: "bob", kind: "member" });
  const { peers } = await aliceConn.ok({ type: "list_peers" });
  expect(peers.find((p: any) => p.pubkey === bob.key.pub)).toMatchObject({ online: false, connectedAt: null, summary: "reading" });
  // a new presence: peer_joined again, reattached false, the stored summary is kept (§2.7)
  const back = await connect(b.url, helloFrame(bob));
  expect(back.ack.reattached).toBe(false);
  await aliceConn.event("peer_joined", (d) => d.pubkey === bob.key.pub);
  // two connections of one member key: each message goes to one of them (§5.5)
  const second = await connect(b.url, helloFrame(bob));
  expect(second.ack.reattached).toBe(true);
  const sent = await aliceConn.ok(dm(alice, bob.key.pub, "one of you"));
  const got = await Promise.any([back.conn.message(), second.conn.message()]);
  expect(got.messageId).toBe(sent.messageId);
  const other = got === back.conn.log.find((f) => f.messageId === sent.messageId) ? second.conn : back.conn;
  expect(await other.sees((f) => f.type === "message", 150)).toBe(false);
  await closeAll(aliceConn, back.conn, second.conn);
});

test("admission: capacity per mesh (retryable, signature used up) and too_many_connections per address", async () => {
  await using b = await startBroker({ maxConnectionsPerMesh: 1, maxConnectionsPerIp: 3 } as never);
  const { owner: alice, ownerConn } = await meshWith(b.url, []);
  const h = helloFrame(alice);
  const { conn, reply } = await handshake(b.url, h);
  expect(reply).toMatchObject({ type: "error", code: "capacity", retryable: true });
  expect(await conn.closed).toEqual({ code: 1008, reason: "capacity" });
  await ownerConn.close();
  // the refused hello's signature is spent: the same bytes are now a replay (§2.5)
  const again = await until(async () => {
    const r = await handshake(b.url, h);
    await r.conn.closed;
    return r.reply.code === "capacity" ? undefined : r.reply;
  }, 3000, "the first connection to be gone");
  expect(again).toMatchObject({ type: "error", code: "replayed" });

  // per address: 3 open sockets, the 4th upgrade is refused with HTTP 429
  const open = await Promise.all([Conn.open(b.url), Conn.open(b.url), Conn.open(b.url)]);
  const res = await fetch(b.url + "/ws", { headers: { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==" } });
  expect(res.status).toBe(429);
  expect((await res.json()).error.code).toBe("too_many_connections");
  await closeAll(...open);
});

test("TTL: an entry past its ttlMs is neither counted in pending nor handed out (§5.8)", async () => {
  await using b = await startBroker();
  const { owner: alice, ownerConn: aliceConn, others } = await meshWith(b.url, ["bob"]);
  const { member: bob, conn: bobConn } = others[0]!;
  await bobConn.close();
  expect(await aliceConn.call({ ...dm(alice, bob.key.pub, "x"), ttlMs: 999 })).toMatchObject({ type: "error", code: "invalid_frame" });
  await aliceConn.ok({ ...dm(alice, bob.key.pub, "short-lived"), ttlMs: 1000 });
  const kept = await aliceConn.ok(dm(alice, bob.key.pub, "default ttl"));
  await Bun.sleep(1100);
  const back = await connect(b.url, helloFrame(bob));
  expect(back.ack.pending).toBe(1);
  expect((await back.conn.message()).messageId).toBe(kept.messageId);
  expect(await back.conn.sees((f) => f.type === "message", 150)).toBe(false);
  await closeAll(aliceConn, back.conn);
});

test("events: peer_* never reach the presence's own connections; a DM to one's own key is delivered", async () => {
  await using b = await startBroker();
  const { owner: alice, ownerConn: aliceConn, others } = await meshWith(b.url, ["bob"]);
  const { member: bob, conn: bobConn } = others[0]!;
  const second = await connect(b.url, helloFrame(bob));
  await bobConn.ok({ type: "set_summary", summary: "busy" });
  const ev = await aliceConn.event("peer_status", (d) => d.pubkey === bob.key.pub);
  expect(ev.data).toEqual({ pubkey: bob.key.pub, displayName: "bob", status: "idle", summary: "busy" });
  expect(await second.conn.sees((f) => f.type === "event" && f.event === "peer_status", 150)).toBe(false);
  // a summary that did not change emits nothing (§4.3.8)
  await bobConn.ok({ type: "set_summary", summary: "busy" });
  expect(await aliceConn.sees((f) => f.type === "event" && f.event === "peer_status", 150)).toBe(false);

  const self = await aliceConn.ok(dm(alice, alice.key.pub, "note to self"));
  const m = await aliceConn.message((x) => x.messageId === self.messageId);
  expect(openMessage(m as any, [alice.key]).body).toBe("note to self");
  await closeAll(aliceConn, bobConn, second.conn);
});
