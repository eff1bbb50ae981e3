// Pins the store's in-memory queue index (src/store/sqlite/queue-index.ts): rebuilt from the
// tables exactly and in pages (after a reopen, depth, FIFO order, de-duplication, delivered state
// and what the sweep deletes or reports are as if the process had never stopped), messages that
// outlive the de-duplication window while queued, and colliding de-duplication keys.
import { afterEach, describe, expect, test } from "bun:test";
import { QueueIndex } from "../../src/store/sqlite/queue-index.ts";
import { addMember, count, directMessage, pubkey, seedMesh, TempDirs } from "./store-fixtures.ts";

const tmp = new TempDirs();
afterEach(() => tmp.cleanup());

describe("reopen rebuilds the queue index", () => {
  test("depth, FIFO order and de-duplication survive; acked entries stay gone", async () => {
    const dir = tmp.make();
    const a = await tmp.open(dir);
    const { mesh, owner } = await seedMesh(a);
    const box = pubkey();
    const sent = await a.commitSends(Array.from({ length: 5 }, () => directMessage(owner, [box])), 0);
    await a.ack(mesh.id, [box], [sent[1]!.message.id], Date.now());
    a.close();

    const b = await tmp.open(dir);
    expect(await b.queueDepth({ meshId: mesh.id, pubkey: box })).toBe(4);
    expect(await b.totalQueueDepth()).toBe(4);
    const claimed = await b.claim(mesh.id, [box], { conn: "c", limit: 10 });
    expect(claimed.map((m) => m.id)).toEqual([0, 2, 3, 4].map((i) => sent[i]!.message.id));
    // A retry of any stored message, acked or not, is still the original.
    const retry = { ...directMessage(owner, [box]), clientMessageId: sent[1]!.message.clientMessageId };
    const [again] = await b.commitSends([retry], 0);
    expect(again).toMatchObject({ duplicate: true, message: { id: sent[1]!.message.id } });
    expect(count(b, "messages")).toBe(5);
  });

  test("a broadcast acked by one recipient is not reported undelivered when the other copy expires", async () => {
    const dir = tmp.make();
    const a = await tmp.open(dir);
    const { mesh, owner } = await seedMesh(a);
    const peer = await addMember(a, owner);
    const other = pubkey();
    const t0 = Date.now();
    const [both] = await a.commitSends([directMessage(owner, [peer.pubkey, other], { kind: "broadcast", target: "*", expiresAt: t0 + 1000 })], 0);
    const [lonely] = await a.commitSends([directMessage(owner, [other], { expiresAt: t0 + 1000 })], 0);
    expect(await a.ack(mesh.id, [peer.pubkey], [both!.message.id], t0)).toBe(1);
    a.close();

    const b = await tmp.open(dir);
    const swept = await b.sweep(t0 + 2000, 60_000);
    expect(swept.expiredRows).toBe(2);
    expect(swept.expiredMessages.map((m) => m.id)).toEqual([lonely!.message.id]);
    // Past the window both rows go, now that nothing holds them.
    expect((await b.sweep(t0 + 120_000, 60_000)).deletedMessages).toBe(2);
    expect(count(b, "messages")).toBe(0);
    expect(await b.findSent(mesh.id, owner.pubkey, lonely!.message.clientMessageId)).toBeNull();
  });
});

describe("the sweep and messages past the de-duplication window", () => {
  test("one still queued at a sweep is deleted by the first sweep after its ack, and forgotten", async () => {
    const store = await tmp.open();
    const { mesh, owner } = await seedMesh(store);
    const box = pubkey();
    const t0 = Date.now();
    const [held] = await store.commitSends([directMessage(owner, [box])], 0);
    const [done] = await store.commitSends([directMessage(owner, [box])], 0);
    await store.ack(mesh.id, [box], [done!.message.id], t0);
    // Past the window: the acked one goes, the queued one stays (and is remembered as a retry).
    expect((await store.sweep(t0 + 30_000, 10_000)).deletedMessages).toBe(1);
    expect((await store.findSent(mesh.id, owner.pubkey, held!.message.clientMessageId))?.message.id).toBe(held!.message.id);
    expect((await store.sweep(t0 + 31_000, 10_000)).deletedMessages).toBe(0);
    await store.ack(mesh.id, [box], [held!.message.id], t0 + 32_000);
    expect((await store.sweep(t0 + 33_000, 10_000)).deletedMessages).toBe(1);
    expect(count(store, "messages")).toBe(0);
    expect(await store.findSent(mesh.id, owner.pubkey, held!.message.clientMessageId)).toBeNull();
  });
});

describe("reopen reads the tables in pages", () => {
  test("a message whose queue rows straddle a page boundary keeps every row", async () => {
    const dir = tmp.make();
    const a = await tmp.open(dir);
    const { mesh, owner } = await seedMesh(a);
    const boxes = Array.from({ length: 7 }, pubkey);
    // 1,500 × 7 = 10,500 rows: the 10,000-row page ends inside message 1,429's rows.
    for (let i = 0; i < 1500; i += 500) await a.commitSends(Array.from({ length: 500 }, () => directMessage(owner, boxes, { kind: "broadcast", target: "*" })), 0);
    a.close();
    const b = await tmp.open(dir);
    expect(await b.totalQueueDepth()).toBe(10_500);
    for (const box of boxes) expect(await b.queueDepth({ meshId: mesh.id, pubkey: box })).toBe(1500);
    expect(count(b, "messages")).toBe(1500);
  });
});

describe("QueueIndex de-duplication keys", () => {
  test("colliding hashes keep every candidate, and forgetting one keeps the others", () => {
    const index = new QueueIndex(() => 42);
    const msg = (seq: number) => ({ seq, id: `id${seq}`, meshId: "m", senderMemberId: "s", senderPubkey: "s", clientMessageId: `c${seq}`, createdAt: 0, topic: null });
    for (const seq of [1, 2, 3]) index.admit(msg(seq), index.keyOf("m", "s", `c${seq}`), []);
    expect(index.candidates(index.keyOf("m", "s", "anything"))).toEqual([1, 2, 3]);
    const row = (seq: number) => ({ seq, mesh_id: "m", sender_pubkey: "s", client_message_id: `c${seq}` });
    index.forget([row(2)]);
    expect(index.candidates(42)).toEqual([1, 3]);
    index.forget([row(1)]);
    expect(index.candidates(42)).toEqual([3]);
    index.forget([row(3)]);
    expect(index.candidates(42)).toEqual([]);
  });
});

describe("queue index details", () => {
  test("expired entries are neither handed out nor counted before the sweep removes them", async () => {
    const store = await tmp.open();
    const { mesh, owner } = await seedMesh(store);
    const box = pubkey();
    await store.commitSends([directMessage(owner, [box], { expiresAt: Date.now() - 1 })], 0);
    expect(await store.claim(mesh.id, [box], { conn: "c", limit: 10 })).toEqual([]);
    expect(await store.pendingCount(mesh.id, [box])).toBe(0);
    expect(await store.queueDepth({ meshId: mesh.id, pubkey: box })).toBe(1); // counted for quotas until swept
  });

  test("a broadcast whose copies all expire unacked is reported once; an id acked twice counts once", async () => {
    const store = await tmp.open();
    const { mesh, owner } = await seedMesh(store);
    const [a, b] = [pubkey(), pubkey()];
    const t0 = Date.now();
    const [both] = await store.commitSends([directMessage(owner, [a, b], { kind: "broadcast", target: "*", expiresAt: t0 + 1000 })], 0);
    const [one] = await store.commitSends([directMessage(owner, [a])], 0);
    expect(await store.ack(mesh.id, [a], [one!.message.id, one!.message.id], t0)).toBe(1);
    expect((await store.sweep(t0 + 2000, 60_000)).expiredMessages.map((m) => m.id)).toEqual([both!.message.id]);
  });

  test("an acked entry leaves its connection's claims", async () => {
    const store = await tmp.open();
    const { mesh, owner } = await seedMesh(store);
    const box = pubkey();
    const [m] = await store.commitSends([directMessage(owner, [box])], 0);
    expect(await store.claim(mesh.id, [box], { conn: "c", limit: 10 })).toHaveLength(1);
    await store.ack(mesh.id, [box], [m!.message.id], Date.now());
    expect(await store.releaseClaims("c")).toBe(0);
  });
});
