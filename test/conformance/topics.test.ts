// Scenario 6: topics (§4.3.11–15, §5.10) with posts sealed under the mesh key as §11.3 says; the
// joiner holds the key from the invite's keysBlob (§11.5).
import { expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { randomId, sodium, unb64 } from "./wire.ts";
import { until, type Conn, type Member } from "./transport.ts";
import { applyKeys, encodeInner, keysBody, openMessage, sealDirect, sealFanout, type MeshKeys } from "./envelopes.ts";
import { closeAll, meshWith } from "./fixture.ts";

/** A `send` to `#topic` (or `*`, `@group`) sealed with the newest mesh key. */
function post(member: Member, keys: MeshKeys, target: string, body: string) {
  const epoch = Math.max(...keys.keys());
  const id = randomId("cm");
  const inner = encodeInner({ v: 1, mesh: member.meshId, from: member.key.pub, to: target, id, ts: Date.now(), kind: "text", body });
  return { type: "send", to: target, clientMessageId: id, ...sealFanout(member.key, keys.get(epoch)!, epoch, member.meshId, target, inner) };
}

test("6. topics: create, join, post, receive, history and resume by offset, history lost", async () => {
  await using b = await startBroker();
  const { mesh, owner: alice, ownerConn: aliceConn, others } = await meshWith(b.url, ["bob"]);
  const { member: bob, conn: bobConn, meshKeys: bobKeys } = others[0]!;

  const created = await aliceConn.ok({ type: "topic_create", name: "deploys", description: "Deploy announcements" });
  expect(created.topic).toMatchObject({ name: "deploys", description: "Deploy announcements", members: 1, lastOffset: 0, joined: true });
  expect(await aliceConn.call({ type: "topic_create", name: "deploys" })).toMatchObject({ type: "error", code: "conflict" });
  const ev = await bobConn.event("topic_created");
  expect(ev.data).toEqual({ topic: "deploys", description: "Deploy announcements", createdBy: alice.memberId });

  // not a member yet: may not post or read history (§4.3.3, §4.3.15)
  expect(await bobConn.call(post(bob, bobKeys, "#deploys", "early"))).toMatchObject({ type: "error", code: "forbidden" });
  expect(await bobConn.call({ type: "topic_history", topic: "deploys" })).toMatchObject({ type: "error", code: "forbidden" });
  expect(await bobConn.call({ type: "topic_join", topic: "nosuch" })).toMatchObject({ type: "error", code: "not_found" });
  expect(await bobConn.ok({ type: "topic_join", topic: "deploys" })).toEqual({ topic: "deploys", joined: true });
  expect(await bobConn.ok({ type: "topic_join", topic: "deploys" })).toEqual({ topic: "deploys", joined: false });
  const tm = await bobConn.ok({ type: "topic_members", topic: "deploys" });
  expect(tm.members.map((m: any) => [m.memberId, m.role])).toEqual([[alice.memberId, "lead"], [bob.memberId, "member"]]);

  // three posts: offsets 1, 2, 3; bob opens each with the key from the keysBlob and checks the signature
  const offsets: number[] = [];
  for (const body of ["v2.3.0", "v2.3.1", "v2.3.2"]) {
    const frame = post(alice, mesh.meshKeys, "#deploys", body);
    const r = await aliceConn.ok(frame);
    // a retry returns the original's topicOffset and takes no new offset (§5.3)
    expect(await aliceConn.ok(frame)).toEqual({ messageId: r.messageId, duplicate: true, createdAt: r.createdAt, topicOffset: r.topicOffset, undeliverable: [] });
    expect(r.duplicate).toBe(false);
    offsets.push(r.topicOffset);
    const m = await bobConn.message((x) => x.messageId === r.messageId);
    expect(m).toMatchObject({ kind: "topic", to: "#deploys", topic: "deploys", topicOffset: r.topicOffset, from: { pubkey: alice.key.pub, name: "alice" } });
    expect(openMessage(m as any, [], bobKeys).body).toBe(body);
    await bobConn.ok({ type: "ack", messageIds: [m.messageId] });
  }
  expect(offsets).toEqual([1, 2, 3]);
  // the sender's own mailbox is left out (§5.1)
  expect(await aliceConn.sees((f) => f.type === "message", 150)).toBe(false);

  // bob posts to #general (every member is in it); alice reads it
  const g = await bobConn.ok(post(bob, bobKeys, "#general", "main is green"));
  expect(g.topicOffset).toBe(1);
  const gm = await aliceConn.message((x) => x.messageId === g.messageId);
  expect(openMessage(gm as any, [], mesh.meshKeys).body).toBe("main is green");

  // history from the start, resume from an offset, at the end (§4.3.15)
  const all = await bobConn.ok({ type: "topic_history", topic: "deploys" });
  expect(all).toMatchObject({ topic: "deploys", lastOffset: 3, earliestOffset: 1, historyLost: false });
  expect(all.messages.map((m: any) => m.topicOffset)).toEqual([1, 2, 3]);
  expect(all.messages.map((m: any) => openMessage(m, [], bobKeys).body)).toEqual(["v2.3.0", "v2.3.1", "v2.3.2"]);
  const resumed = await bobConn.ok({ type: "topic_history", topic: "deploys", afterOffset: 2, limit: 10 });
  expect(resumed.messages.map((m: any) => m.topicOffset)).toEqual([3]);
  expect(resumed.historyLost).toBe(false);
  const atEnd = await bobConn.ok({ type: "topic_history", topic: "deploys", afterOffset: 3 });
  expect(atEnd).toMatchObject({ messages: [], lastOffset: 3, historyLost: false });
  // an offset the topic never reached (a restored broker): the "history lost" answer
  const ahead = await bobConn.ok({ type: "topic_history", topic: "deploys", afterOffset: 10 });
  expect(ahead).toEqual({ topic: "deploys", messages: [], lastOffset: 3, earliestOffset: 1, historyLost: true });

  const { topics } = await bobConn.ok({ type: "topic_list" });
  expect(topics.map((t: any) => [t.name, t.joined, t.lastOffset])).toEqual([["deploys", true, 3], ["general", true, 1]]);
  expect(await bobConn.call(post(bob, bobKeys, "#nosuch", "x"))).toMatchObject({ type: "error", code: "unknown_recipient" });
  expect(await bobConn.ok({ type: "topic_leave", topic: "deploys" })).toEqual({ topic: "deploys", left: true });
  expect(await bobConn.ok({ type: "topic_leave", topic: "deploys" })).toEqual({ topic: "deploys", left: false });
  await closeAll(aliceConn, bobConn);
});

test("6b. history lost by retention: topicHistory offsets are kept (§5.10)", async () => {
  await using b = await startBroker({ topicHistory: 2 } as never);
  const { mesh, owner: alice, ownerConn: aliceConn } = await meshWith(b.url, []);
  await aliceConn.ok({ type: "topic_create", name: "logs" });
  // alice is the topic's only member and her own mailbox is left out, so no mailbox holds the posts
  for (let i = 1; i <= 5; i++) expect((await aliceConn.ok(post(alice, mesh.meshKeys, "#logs", `line ${i}`))).topicOffset).toBe(i);
  const lost = await until(async () => {
    const h = await aliceConn.ok({ type: "topic_history", topic: "logs", afterOffset: 0 });
    return h.historyLost ? h : undefined;
  }, 3000, "history to be trimmed");
  expect(lost).toEqual({ topic: "logs", messages: [], lastOffset: 5, earliestOffset: 4, historyLost: true });
  // the client then reads again from earliestOffset − 1
  const again = await aliceConn.ok({ type: "topic_history", topic: "logs", afterOffset: lost.earliestOffset - 1 });
  expect(again.historyLost).toBe(false);
  expect(again.messages.map((m: any) => openMessage(m, [], mesh.meshKeys).body)).toEqual(["line 4", "line 5"]);
  await closeAll(aliceConn);
});

test("6c. groups and broadcast: @group and * sealed under their purpose keys", async () => {
  await using b = await startBroker();
  const { mesh, owner: alice, ownerConn: aliceConn, others } = await meshWith(b.url, ["bob", "carol"]);
  const [bob, carol] = others as [(typeof others)[0], (typeof others)[0]];
  expect(await bob.conn.ok({ type: "group_join", group: "frontend" })).toEqual({ group: "frontend" });
  const g = await aliceConn.ok(post(alice, mesh.meshKeys, "@frontend", "css is broken"));
  const m = await bob.conn.message((x) => x.messageId === g.messageId);
  expect(m.kind).toBe("group");
  expect(openMessage(m as any, [], bob.meshKeys).body).toBe("css is broken");
  expect(await carol.conn.sees((f) => f.type === "message", 150)).toBe(false);
  expect(await aliceConn.call(post(alice, mesh.meshKeys, "@nobody", "x"))).toMatchObject({ type: "error", code: "unknown_recipient" });
  const star = await aliceConn.ok(post(alice, mesh.meshKeys, "*", "lunch"));
  for (const c of [bob.conn, carol.conn] as Conn[]) {
    const x = await c.message((f) => f.messageId === star.messageId);
    expect(x.kind).toBe("broadcast");
    expect(openMessage(x as any, [], mesh.meshKeys).body).toBe("lunch");
  }
  const { peers } = await carol.conn.ok({ type: "list_peers" });
  expect(peers.find((p: any) => p.pubkey === bob.member.key.pub).groups).toEqual(["frontend"]);
  await closeAll(aliceConn, bob.conn, carol.conn);
});

test("6d. key rotation: the owner's keys DM, key_rotate, posts under the new epoch (§11.5)", async () => {
  await using b = await startBroker();
  const { mesh, owner: alice, ownerConn: aliceConn, others } = await meshWith(b.url, ["bob", "carol"]);
  const [bob, carol] = others as [(typeof others)[0], (typeof others)[0]];
  // carol is removed; the owner makes epoch 1 and sends every epoch to the remaining member
  await aliceConn.ok({ type: "member_revoke", memberId: carol.member.memberId, ban: false });
  mesh.meshKeys.set(1, sodium.randombytes_buf(32));
  const id = randomId("cm");
  const inner = encodeInner({ v: 1, mesh: mesh.meshId, from: alice.key.pub, to: bob.member.key.pub, id, ts: Date.now(), kind: "keys", body: keysBody(mesh.meshKeys) });
  const sent = await aliceConn.ok({ type: "send", to: bob.member.key.pub, clientMessageId: id, priority: "now", ...sealDirect(alice.key, bob.member.key.pub, inner) });
  expect(await aliceConn.ok({ type: "key_rotate", epoch: 1, reason: "carol removed" })).toEqual({ epoch: 1 });

  const km = await bob.conn.message((m) => m.messageId === sent.messageId);
  const opened = openMessage(km as any, [bob.member.key]);
  expect(applyKeys(km as any, opened, mesh.owner.key.pub, bob.meshKeys)).toEqual([1]);
  expect((await bob.conn.event("key_rotated")).data).toEqual({ epoch: 1, by: alice.memberId });
  // the same keys from a non-owner would be refused
  expect(applyKeys({ ...km, from: { ...km.from, memberPubkey: bob.member.key.pub } } as any, opened, mesh.owner.key.pub, new Map())).toBeNull();

  // bob posts under epoch 1; alice opens it; the header says epoch 1
  const p = post(bob.member, bob.meshKeys, "#general", "after the rotation");
  const r = await bob.conn.ok(p);
  const m = await aliceConn.message((x) => x.messageId === r.messageId);
  expect(unb64(m.ciphertext)[4]).toBe(1);
  expect(openMessage(m as any, [], mesh.meshKeys).body).toBe("after the rotation");
  // a reader holding only epoch 0 (the removed member) cannot open it: unknown epoch
  expect(() => openMessage(m as any, [], new Map([[0, mesh.meshKeys.get(0)!]]))).toThrow(/epoch/);
  await closeAll(aliceConn, bob.conn);
});
