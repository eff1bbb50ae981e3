// Pins sends, queues and topic history: dedup by clientMessageId, FIFO claims that never hand a
// row out twice, priority gating, acks, released claims, expiry sweeps, exact depth counters,
// topic offsets and history trimming.
import { afterEach, describe, expect, test } from "bun:test";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";
import type { Member, NewMessage, Topic } from "../../src/store/types.ts";
import { addMember, count, directMessage, pubkey, seedMesh, TempDirs } from "./store-fixtures.ts";

const tmp = new TempDirs();
afterEach(() => tmp.cleanup());

async function setup() {
  const store = await tmp.open();
  const { mesh, owner } = await seedMesh(store);
  const peer = await addMember(store, owner, "peer");
  return { store, mesh, owner, peer };
}

const ids = (xs: { id: string }[]) => xs.map((x) => x.id);

const topicMessage = (from: Member, topic: Topic, to: string[]): NewMessage =>
  directMessage(from, to, { kind: "topic", target: `#${topic.name}`, topic: topic.name, topicId: topic.id });

describe("commitSends", () => {
  test("stores the message and one queue row per recipient, with the sender member's key", async () => {
    const { store, mesh, owner, peer } = await setup();
    const sessionKey = pubkey();
    const msg = directMessage(owner, [peer.pubkey, sessionKey], { senderPubkey: sessionKey, notice: { hint: "x" }, replyTo: "abc" });
    const [out] = await store.commitSends([msg], 0);
    expect(out!.duplicate).toBe(false);
    expect(out!.recipients).toEqual([peer.pubkey, sessionKey]);
    expect(out!.message.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(out!.message).toMatchObject({ senderPubkey: sessionKey, senderMemberPubkey: owner.pubkey, notice: { hint: "x" }, replyTo: "abc", topic: null, topicOffset: null });
    // What is claimed later equals what commitSends returned.
    expect(await store.claim(mesh.id, [peer.pubkey], { conn: "c1", limit: 10 })).toEqual([out!.message]);
    expect(await store.queueDepth({ meshId: mesh.id, pubkey: sessionKey })).toBe(1);
    expect(await store.totalQueueDepth()).toBe(2);
  });

  test("a retried clientMessageId returns the original, in one batch and across batches", async () => {
    const { store, mesh, owner, peer } = await setup();
    const msg = directMessage(owner, [peer.pubkey]);
    const [a, b] = await store.commitSends([msg, { ...msg, ciphertext: "b3RoZXI=" }], 0);
    const [c] = await store.commitSends([msg], 0);
    expect([a!.duplicate, b!.duplicate, c!.duplicate]).toEqual([false, true, true]);
    expect(b!.message).toEqual(a!.message);
    expect(c!.message).toEqual(a!.message);
    expect(b!.recipients).toEqual([]);
    expect(count(store, "messages")).toBe(1);
    expect(await store.pendingCount(mesh.id, [peer.pubkey])).toBe(1);
    expect(await store.queueDepth({ meshId: mesh.id, pubkey: peer.pubkey })).toBe(1);
    // Another sender key may reuse the same clientMessageId.
    const [other] = await store.commitSends([directMessage(peer, [owner.pubkey], { clientMessageId: msg.clientMessageId })], 0);
    expect(other!.duplicate).toBe(false);
  });

  test("a retry gets the original's undeliverable list, in one batch, across batches and after a reopen; none stores NULL", async () => {
    const dir = tmp.make();
    const store = await tmp.open(dir);
    const { mesh, owner } = await seedMesh(store);
    const [full, room] = [pubkey(), pubkey()];
    const skipped = [{ to: full, code: "quota_exceeded" }];
    const msg = directMessage(owner, [room], { kind: "broadcast", target: "*", undeliverable: skipped });
    const plain = directMessage(owner, [room]);
    // The retry in the same batch skipped nothing itself: its answer is still the original's.
    const [a, b, p] = await store.commitSends([msg, { ...msg, undeliverable: [] }, plain], 0);
    const [c] = await store.commitSends([{ ...msg, undeliverable: [] }], 0);
    expect([a, b, c].map((o) => [o!.duplicate, o!.undeliverable])).toEqual([[false, skipped], [true, skipped], [true, skipped]]);
    expect(await store.findSent(mesh.id, owner.pubkey, msg.clientMessageId)).toEqual({ message: a!.message, undeliverable: skipped });
    const column = store.db.query<{ undeliverable: string | null }, [string]>("SELECT undeliverable FROM messages WHERE id = ?");
    expect([column.get(a!.message.id), column.get(p!.message.id)]).toEqual([{ undeliverable: JSON.stringify(skipped) }, { undeliverable: null }]);
    store.close();
    const reopened = await tmp.open(dir);
    expect(await reopened.findSent(mesh.id, owner.pubkey, msg.clientMessageId)).toEqual({ message: a!.message, undeliverable: skipped });
    expect(await reopened.findSent(mesh.id, owner.pubkey, plain.clientMessageId)).toEqual({ message: p!.message, undeliverable: [] });
    const [d] = await reopened.commitSends([{ ...msg, undeliverable: [] }], 0);
    expect([d!.duplicate, d!.undeliverable]).toEqual([true, skipped]);
  });

  test("a failing message rolls back the whole batch", async () => {
    const { store, owner, peer } = await setup();
    const bad = directMessage(owner, [peer.pubkey], { topicId: 9999, kind: "topic" });
    await expect(store.commitSends([directMessage(owner, [peer.pubkey]), bad], 0)).rejects.toThrow();
    expect(count(store, "messages")).toBe(0);
    expect(count(store, "queue")).toBe(0);
  });
});

describe("commitWrites", () => {
  test("sends and acks in one transaction: outcomes in order, acked entries gone, new ones queued", async () => {
    const { store, mesh, owner, peer } = await setup();
    const [first] = await store.commitSends([directMessage(owner, [peer.pubkey])], 0);
    const ack = { meshId: mesh.id, mailbox: peer.pubkey, messageIds: [first!.message.id, "unknown-id-000000000"] };
    const out = await store.commitWrites({ sends: [directMessage(owner, [peer.pubkey]), directMessage(owner, [peer.pubkey])], acks: [ack, ack] }, 0, Date.now());
    expect(out.acks).toEqual([{ removed: 1, notices: 0 }, { removed: 0, notices: 0 }]); // the second ack of the same id finds nothing left
    expect(out.sends.map((o) => o.duplicate)).toEqual([false, false]);
    expect(ids(await store.claim(mesh.id, [peer.pubkey], { conn: "c", limit: 10 }))).toEqual(out.sends.map((o) => o.message.id));
    expect(count(store, "queue")).toBe(2);
  });

  test("a failing send rolls back the acks of the same batch too, in the tables and in memory", async () => {
    const { store, mesh, owner, peer } = await setup();
    const [first] = await store.commitSends([directMessage(owner, [peer.pubkey])], 0);
    const bad = directMessage(owner, [peer.pubkey], { topicId: 9999, kind: "topic" });
    const ack = { meshId: mesh.id, mailbox: peer.pubkey, messageIds: [first!.message.id] };
    await expect(store.commitWrites({ sends: [bad], acks: [ack] }, 0, Date.now())).rejects.toThrow();
    expect(count(store, "queue")).toBe(1);
    expect(await store.queueDepth({ meshId: mesh.id, pubkey: peer.pubkey })).toBe(1);
    expect(ids(await store.claim(mesh.id, [peer.pubkey], { conn: "c", limit: 10 }))).toEqual([first!.message.id]);
  });
});

describe("claim, ack, release", () => {
  test("FIFO across mailboxes, a message queued twice is returned once", async () => {
    const { store, mesh, owner, peer } = await setup();
    const sessionKey = pubkey();
    const sent = await store.commitSends(
      [directMessage(owner, [peer.pubkey]), directMessage(owner, [sessionKey]), directMessage(owner, [peer.pubkey, sessionKey]), directMessage(owner, [peer.pubkey])],
      0,
    );
    const got = await store.claim(mesh.id, [peer.pubkey, sessionKey], { conn: "c1", limit: 10 });
    expect(ids(got)).toEqual(sent.map((o) => o.message.id));
    expect(await store.claim(mesh.id, [peer.pubkey, sessionKey], { conn: "c2", limit: 10 })).toEqual([]);
  });

  test("limits, and concurrent claimers get disjoint rows", async () => {
    const { store, mesh, owner } = await setup();
    const box = pubkey();
    const sent = await store.commitSends(Array.from({ length: 40 }, () => directMessage(owner, [box])), 0);
    const claims = await Promise.all(Array.from({ length: 10 }, (_, i) => store.claim(mesh.id, [box], { conn: `c${i}`, limit: 3 })));
    const all = claims.flatMap(ids);
    expect(claims.every((c) => c.length <= 3)).toBe(true);
    expect(all).toHaveLength(30);
    expect(new Set(all).size).toBe(30);
    expect(all.sort()).toEqual(ids(sent.map((o) => o.message).slice(0, 30)).sort());
  });

  test("priorities gate what is handed out", async () => {
    const { store, mesh, owner, peer } = await setup();
    const [now, low, next] = await store.commitSends(
      (["now", "low", "next"] as const).map((priority) => directMessage(owner, [peer.pubkey], { priority })),
      0,
    );
    expect(await store.claim(mesh.id, [peer.pubkey], { conn: "c", limit: 10, priorities: [] })).toEqual([]);
    expect(ids(await store.claim(mesh.id, [peer.pubkey], { conn: "c", limit: 10, priorities: ["now"] }))).toEqual([now!.message.id]);
    expect(ids(await store.claim(mesh.id, [peer.pubkey], { conn: "c", limit: 10 }))).toEqual([low!.message.id, next!.message.id]);
  });

  test("a byte budget stops after the message that reaches it, claims only what it returns, and always returns one", async () => {
    const { store, mesh, owner, peer } = await setup();
    const body = (n: number) => "A".repeat(n);
    const sent = await store.commitSends([400, 400, 400, 400].map((n) => directMessage(owner, [peer.pubkey], { ciphertext: body(n) })), 0);
    const m = sent.map((o) => o.message.id);
    expect(ids(await store.claim(mesh.id, [peer.pubkey], { conn: "c1", limit: 10, maxBytes: 700 }))).toEqual(m.slice(0, 2));
    // The cut-off messages were not claimed: the next claimer gets them, in order.
    expect(ids(await store.claim(mesh.id, [peer.pubkey], { conn: "c2", limit: 10, maxBytes: 1 }))).toEqual(m.slice(2, 3));
    expect(ids(await store.claim(mesh.id, [peer.pubkey], { conn: "c3", limit: 10, maxBytes: 10_000 }))).toEqual(m.slice(3));
  });

  test("rows created claimed for a live connection are not handed out again until released", async () => {
    const { store, mesh, owner, peer } = await setup();
    const [pushed] = await store.commitSends([directMessage(owner, [peer.pubkey], { claimFor: new Map([[peer.pubkey, "live"]]) })], 0);
    expect(await store.claim(mesh.id, [peer.pubkey], { conn: "other", limit: 10 })).toEqual([]);
    expect(await store.releaseClaims("live")).toBe(1);
    expect(await store.releaseClaims("live")).toBe(0);
    expect(ids(await store.claim(mesh.id, [peer.pubkey], { conn: "other", limit: 10 }))).toEqual([pushed!.message.id]);
  });

  test("ack removes rows of the acking mailboxes only, claimed or not, and marks delivery", async () => {
    const { store, mesh, owner, peer } = await setup();
    const [m1, m2] = await store.commitSends([directMessage(owner, [peer.pubkey, owner.pubkey]), directMessage(owner, [peer.pubkey])], 0);
    await store.claim(mesh.id, [peer.pubkey], { conn: "c", limit: 1 });
    expect(await store.queueDepth({ meshId: mesh.id, pubkey: peer.pubkey })).toBe(2);
    expect(await store.ack(mesh.id, [peer.pubkey], [m1!.message.id, m2!.message.id, "unknown-id"], 777)).toBe(2);
    expect(await store.ack(mesh.id, [peer.pubkey], [m1!.message.id], 778)).toBe(0);
    expect(await store.queueDepth({ meshId: mesh.id, pubkey: peer.pubkey })).toBe(0);
    expect(await store.pendingCount(mesh.id, [owner.pubkey])).toBe(1);
    const delivered = store.db.query<{ delivered_at: number }, [string]>("SELECT delivered_at FROM messages WHERE id = ?");
    expect(delivered.get(m1!.message.id)!.delivered_at).toBe(777);
    expect(await store.ack(mesh.id, [], [m1!.message.id], 1)).toBe(0);
  });
});

describe("sweep", () => {
  test("expired rows go, undelivered messages are reported, old ones deleted, counters exact", async () => {
    const { store, mesh, owner, peer } = await setup();
    const t0 = Date.now();
    const [gone, kept, system] = await store.commitSends(
      [
        directMessage(owner, [peer.pubkey], { expiresAt: t0 + 1000 }),
        directMessage(owner, [peer.pubkey], { expiresAt: t0 + 60_000 }),
        directMessage(owner, [peer.pubkey], { expiresAt: t0 + 1000, kind: "system" }),
      ],
      0,
    );
    expect(await store.queueDepth({ meshId: mesh.id, pubkey: peer.pubkey })).toBe(3);
    await store.rememberSignature("old", t0 + 500, 0);
    await store.rememberSignature("fresh", t0 + 60_000, 0);

    const first = await store.sweep(t0 + 2000, 10 * 60_000);
    expect(first).toEqual({ expiredRows: 2, expiredNoticeRows: 1, expiredMessages: [gone!.message], deletedMessages: 0, seenSignatures: 1, more: false });
    expect(await store.queueDepth({ meshId: mesh.id, pubkey: peer.pubkey })).toBe(1);
    expect(ids(await store.claim(mesh.id, [peer.pubkey], { conn: "c", limit: 10 }))).toEqual([kept!.message.id]);
    expect(system!.message.kind).toBe("system");

    // Past the dedup window the unqueued messages are deleted; the queued one stays.
    expect(await store.sweep(t0 + 30_000, 10_000)).toEqual({ expiredRows: 0, expiredNoticeRows: 0, expiredMessages: [], deletedMessages: 2, seenSignatures: 0, more: false });
    expect(count(store, "messages")).toBe(1);
    // Its row expires later: reported once, kept for the dedup window, then deleted.
    expect(await store.sweep(t0 + 120_000, 10 * 60_000)).toEqual({ expiredRows: 1, expiredNoticeRows: 0, expiredMessages: [kept!.message], deletedMessages: 0, seenSignatures: 1, more: false });
    expect(await store.sweep(t0 + 20 * 60_000, 10 * 60_000)).toEqual({ expiredRows: 0, expiredNoticeRows: 0, expiredMessages: [], deletedMessages: 1, seenSignatures: 0, more: false });
    expect(await store.queueDepth({ meshId: mesh.id, pubkey: peer.pubkey })).toBe(0);
  });

  test("an acked message is not reported when another recipient's row expires", async () => {
    const { store, mesh, owner, peer } = await setup();
    const [m] = await store.commitSends([directMessage(owner, [peer.pubkey, owner.pubkey], { expiresAt: Date.now() + 1000 })], 0);
    await store.ack(mesh.id, [owner.pubkey], [m!.message.id], Date.now());
    expect((await store.sweep(Date.now() + 5000, 60_000)).expiredMessages).toEqual([]);
  });
});

describe("topic history", () => {
  async function topicSetup() {
    const s = await setup();
    const topic = await s.store.createTopic(s.mesh.id, "design", "", s.owner.id);
    return { ...s, topic };
  }
  const send = (store: SqliteStore, from: Member, topic: Topic, n: number, limit: number, to: string[] = []) =>
    store.commitSends(Array.from({ length: n }, () => topicMessage(from, topic, to)), limit);

  test("offsets count 1, 2, 3 and history after N returns exactly the gap", async () => {
    const { store, owner, topic } = await topicSetup();
    const sent = await send(store, owner, topic, 5, 0);
    expect(sent.map((o) => o.message.topicOffset)).toEqual([1, 2, 3, 4, 5]);
    expect(sent[0]!.message.topic).toBe("design");
    const h = await store.topicHistory(topic.id, 3, 100);
    expect(h.messages.map((m) => m.topicOffset)).toEqual([4, 5]);
    expect(h.messages).toEqual(sent.slice(3).map((o) => o.message));
    expect(h).toMatchObject({ earliestOffset: 1, lastOffset: 5 });
    expect((await store.topicHistory(topic.id, 0, 2)).messages.map((m) => m.topicOffset)).toEqual([1, 2]);
    expect((await store.getTopic(topic.meshId, "design"))!.lastOffset).toBe(5);
  });

  test("trimming keeps the last N (and anything still queued) and reports earliestOffset", async () => {
    const { store, mesh, owner, peer, topic } = await topicSetup();
    const [queued] = await send(store, owner, topic, 1, 3, [peer.pubkey]);
    await send(store, owner, topic, 9, 3);
    const h = await store.topicHistory(topic.id, 0, 100);
    expect(h).toMatchObject({ earliestOffset: 8, lastOffset: 10 });
    expect(h.messages.map((m) => m.topicOffset)).toEqual([8, 9, 10]);
    // Offset 1 survives trimming while it sits in a queue, but history never crosses the gap.
    expect(count(store, "messages")).toBe(4);
    await store.ack(mesh.id, [peer.pubkey], [queued!.message.id], Date.now());
    // A post deletes only the offset it pushes out (8): reading every held row behind the window
    // again on each post made a topic with an offline member slow down to ~200 posts/s. Offset 1,
    // no longer held, goes with the sweep.
    await send(store, owner, topic, 1, 3);
    expect(count(store, "messages")).toBe(4);
    await store.sweep(Date.now(), 60_000);
    expect(count(store, "messages")).toBe(3);
    expect(await store.topicHistory(topic.id, 5, 100)).toMatchObject({ earliestOffset: 9, lastOffset: 11 });
  });

  test("earliestOffset after a restart is read from what the database holds, then kept in memory", async () => {
    const dir = tmp.make();
    const { store, mesh, owner, peer, topic } = await (async () => {
      const store = await tmp.open(dir);
      const { mesh, owner } = await seedMesh(store);
      const peer = await addMember(store, owner, "peer");
      return { store, mesh, owner, peer, topic: await store.createTopic(mesh.id, "design", "", owner.id) };
    })();
    await send(store, owner, topic, 2, 3, [peer.pubkey]); // 1 and 2 stay queued behind the window
    await send(store, owner, topic, 6, 3); // 3, 4, 5 are deleted as posts push them out
    expect(await store.topicHistory(topic.id, 0, 100)).toMatchObject({ earliestOffset: 6, lastOffset: 8 });
    store.close();
    const again = await tmp.open(dir);
    expect(await again.topicHistory(topic.id, 0, 100)).toMatchObject({ earliestOffset: 6, lastOffset: 8 });
    const held = await again.claim(mesh.id, [peer.pubkey], { conn: "c", limit: 10 });
    await again.ack(mesh.id, [peer.pubkey], held.map((m) => m.id), Date.now());
    await send(again, owner, topic, 1, 3); // pushes 6 out, and tells the sweep where the window is
    await again.sweep(Date.now(), 60_000);
    expect(count(again, "messages")).toBe(3);
    expect(await again.topicHistory(topic.id, 0, 100)).toMatchObject({ earliestOffset: 7, lastOffset: 9 });
  });

  test("an empty topic reports earliestOffset lastOffset + 1", async () => {
    const { store, topic } = await topicSetup();
    expect(await store.topicHistory(topic.id, 0, 10)).toEqual({ messages: [], earliestOffset: 1, lastOffset: 0 });
  });
});
