// docs/protocol.md §5.11: the bounds on queued entries beyond one mailbox's queueQuota: the
// broker's (brokerQueueQuota), the mesh's (meshQueueQuota) and one sending member's share of a
// mailbox (queueSenderShare). A direct message none of its mailboxes takes is refused with
// quota_exceeded naming the bound, and stores nothing; a fan-out is stored for the mailboxes that
// have room and lists the others as undeliverable; broker_queue_refused_total{bound} counts each
// mailbox kept out; room comes back as entries are acked or expire; the counts are rebuilt from
// the stored queue at a start, a kill -9 included.
import { describe, expect, test } from "bun:test";
import { sweepRound } from "../../src/broker/timers.ts";
import { randomId } from "../../src/crypto/hash.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";
import { brokerClock, startBroker, tempDir, type TestBroker } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh, envelope, sendText, type TestMember, type TestPeer } from "../helpers/mesh.ts";
import { spawnBroker } from "../helpers/process.ts";

const BROKER_FULL = "The broker holds as many undelivered messages as it may (brokerQueueQuota). Retry after recipients have read their messages, or ask the broker's operator to raise it.";

function rowCounts(b: TestBroker) {
  const db = (b.ctx.store as SqliteStore).db;
  const count = (t: string) => (db.query(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number }).n;
  return { messages: count("messages"), queue: count("queue") };
}

/** broker_queue_refused_total and the quota_exceeded rejections, as /metrics publishes them. */
async function refusals(url: string) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const series = (re: RegExp) => Object.fromEntries([...text.matchAll(re)].map((m) => [m[1]!, Number(m[2])]));
  return {
    refused: series(/^broker_queue_refused_total\{bound="(\w+)"\} (\d+)$/gm),
    rejected: series(/^broker_messages_rejected_total\{reason="(quota_exceeded)"\} (\d+)$/gm).quota_exceeded ?? 0,
  };
}

/** A mesh of an owner (connected in pull mode: nothing is pushed to it) and offline members. */
async function meshOf(url: string, names: string[]): Promise<{ owner: TestMember; o: TestPeer; members: TestMember[] }> {
  const { owner } = await createTestMesh(url);
  const members: TestMember[] = [];
  for (const n of names) members.push(await addMember(url, owner, n));
  return { owner, o: await connect(url, owner, { receive: "pull" }), members };
}

const depth = (b: TestBroker, m: TestMember) => b.ctx.store.queueDepth({ meshId: m.meshId, pubkey: m.keys.publicKey });

describe("brokerQueueQuota", () => {
  test("a direct message past it is refused with quota_exceeded naming the bound, stores nothing, is counted, and goes through once an entry is acked", async () => {
    await using b = await startBroker({ brokerQueueQuota: 3 });
    const { o, members: [bob, carol] } = await meshOf(b.url, ["bob", "carol"]);
    for (const n of [1, 2, 3]) await sendText(o, bob!.keys.publicKey, `to bob ${n}`);
    const before = rowCounts(b);
    await expect(sendText(o, carol!.keys.publicKey, "one too many")).rejects.toMatchObject({ code: "quota_exceeded", message: BROKER_FULL, retryable: true });
    expect(rowCounts(b)).toEqual(before);
    expect(await refusals(b.url)).toEqual({ refused: { broker: 1 }, rejected: 1 });
    const bb = await connect(b.url, bob!, { receive: "pull" });
    const { messages } = await bb.client.request("fetch", { limit: 1 });
    await bb.client.request("ack", { messageIds: [messages[0]!.messageId] });
    expect((await sendText(o, carol!.keys.publicKey, "room again")).undeliverable).toEqual([]);
    expect(rowCounts(b)).toEqual({ messages: before.messages + 1, queue: 3 });
    await expect(sendText(o, carol!.keys.publicKey, "full again")).rejects.toMatchObject({ code: "quota_exceeded", message: BROKER_FULL });
    bb.close();
    o.close();
  });

  test("room comes back when entries expire (an expiry notice takes one entry for the message)", async () => {
    await using b = await startBroker({ brokerQueueQuota: 3 });
    const { o, members: [bob, carol] } = await meshOf(b.url, ["bob", "carol"]);
    // Two entries that expire (bob's and carol's) and one that stays.
    await o.client.request("send", { to: "*", clientMessageId: randomId(), ttlMs: 1000, ...envelope("short-lived") });
    await sendText(o, bob!.keys.publicKey, "stays");
    await expect(sendText(o, carol!.keys.publicKey, "no room")).rejects.toMatchObject({ code: "quota_exceeded", message: BROKER_FULL });
    brokerClock(b, 1100);
    await sweepRound(b.ctx);
    expect(await b.ctx.store.totalQueueDepth()).toBe(2); // bob's DM and the owner's expiry notice
    expect((await sendText(o, carol!.keys.publicKey, "room again")).undeliverable).toEqual([]);
    o.close();
  });

  test("sends that share a group commit do not overshoot it, fan-outs included", async () => {
    await using b = await startBroker({ brokerQueueQuota: 10 });
    const { o, members } = await meshOf(b.url, ["bob", "carol", "dave", "erin"]);
    const sends = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? sendText(o, "*", `all ${i}`) : sendText(o, members[i % 4]!.keys.publicKey, `dm ${i}`)));
    const results = await Promise.allSettled(sends);
    expect(await b.ctx.store.totalQueueDepth()).toBe(10);
    expect(rowCounts(b).queue).toBe(10);
    const skipped = results.reduce((n, r) => n + (r.status === "fulfilled" ? r.value.undeliverable.length : 1), 0);
    expect(skipped).toBe(20 * 4 + 20 - 10); // every mailbox asked for, but the ten that took one
    o.close();
  });

  test.each(["*", "#general"])("a fan-out to %s is stored for the mailboxes with room and lists the others as undeliverable", async (to) => {
    await using b = await startBroker({ brokerQueueQuota: 3 });
    const { o, members } = await meshOf(b.url, ["bob", "carol", "dave", "erin"]);
    const first = await o.client.request("send", { to, clientMessageId: randomId(), ...envelope("to all") });
    expect(first.undeliverable).toHaveLength(1);
    const skipped = first.undeliverable[0]!;
    expect(skipped.code).toBe("quota_exceeded");
    const depths = Object.fromEntries(await Promise.all(members.map(async (m) => [m.keys.publicKey, await depth(b, m)] as const)));
    expect(depths).toEqual(Object.fromEntries(members.map((m) => [m.keys.publicKey, m.keys.publicKey === skipped.to ? 0 : 1])));
    // Full: the next one reaches nobody, and is stored as a fan-out with every mailbox full is (§5.11).
    const before = rowCounts(b);
    const second = await o.client.request("send", { to, clientMessageId: randomId(), ...envelope("to nobody") });
    expect(second.undeliverable.map((u) => u.to).toSorted()).toEqual(members.map((m) => m.keys.publicKey).toSorted());
    expect(rowCounts(b)).toEqual({ messages: before.messages + 1, queue: 3 });
    expect(await refusals(b.url)).toEqual({ refused: { broker: 5 }, rejected: 0 });
    o.close();
  });
});

describe("meshQueueQuota", () => {
  test("a mesh at its bound refuses, naming it; another mesh on the broker is not held back", async () => {
    await using b = await startBroker({ meshQueueQuota: 2 });
    const one = await meshOf(b.url, ["bob"]);
    const two = await meshOf(b.url, ["yan"]);
    const bob = one.members[0]!;
    for (const n of [1, 2]) await sendText(one.o, bob.keys.publicKey, `to bob ${n}`);
    await expect(sendText(one.o, bob.keys.publicKey, "3")).rejects.toMatchObject({
      code: "quota_exceeded",
      message: "This mesh has 2 undelivered messages waiting, its limit (meshQueueQuota). Retry after recipients have read their messages, or ask the broker's operator to raise it.",
    });
    for (const n of [1, 2]) expect((await sendText(two.o, two.members[0]!.keys.publicKey, `to yan ${n}`)).undeliverable).toEqual([]);
    expect(await refusals(b.url)).toEqual({ refused: { mesh: 1 }, rejected: 1 });
    one.o.close();
    two.o.close();
  });
});

describe("queueSenderShare", () => {
  test("one member fills only its share of a mailbox; another still reaches it, up to the mailbox's quota", async () => {
    await using b = await startBroker({ queueQuota: 4 }); // the default share, 50 %: 2 entries per sender
    const { o, members: [bob, carol] } = await meshOf(b.url, ["bob", "carol"]);
    for (const n of [1, 2]) await sendText(o, bob!.keys.publicKey, `owner ${n}`);
    const before = rowCounts(b);
    await expect(sendText(o, bob!.keys.publicKey, "owner 3")).rejects.toMatchObject({
      code: "quota_exceeded",
      message: "Your messages fill your share of the recipient's queue: 2 of its 4 (queueSenderShare 50%). Retry after they have read some.",
    });
    expect(rowCounts(b)).toEqual(before);
    // A broadcast skips only the mailbox where the sender's share is used up.
    expect((await sendText(o, "*", "owner to all")).undeliverable).toEqual([{ to: bob!.keys.publicKey, code: "quota_exceeded" }]);
    const c = await connect(b.url, carol!, { receive: "pull" });
    for (const n of [1, 2]) expect((await sendText(c, bob!.keys.publicKey, `carol ${n}`)).undeliverable).toEqual([]);
    await expect(sendText(c, bob!.keys.publicKey, "carol 3")).rejects.toMatchObject({ code: "quota_exceeded", message: "The recipient's queue is full. Retry after they have read their messages." });
    expect(await depth(b, bob!)).toBe(4);
    expect(await refusals(b.url)).toEqual({ refused: { sender: 2, mailbox: 1 }, rejected: 2 });
    c.close();
    o.close();
  });
});

describe("the counts after a restart", () => {
  test("a broker started again on the same data holds the same counts and the same bounds", async () => {
    const dataDir = tempDir("cm-queue-bounds-");
    const over = { brokerQueueQuota: 4, meshQueueQuota: 2 };
    const { one, two, counts } = await (async () => {
      await using b = await startBroker(over, { dataDir });
      const one = await meshOf(b.url, ["bob"]);
      const two = await meshOf(b.url, ["yan"]);
      for (const n of [1, 2]) await sendText(one.o, one.members[0]!.keys.publicKey, `to bob ${n}`);
      await sendText(two.o, two.members[0]!.keys.publicKey, "to yan");
      const counts = await b.ctx.store.queueLoad(one.owner.meshId, [one.members[0]!.keys.publicKey], one.owner.memberId);
      one.o.close();
      two.o.close();
      return { one, two, counts };
    })();
    expect(counts).toEqual({ depths: [2], fromSender: [2], mesh: 2, total: 3 });
    await using again = await startBroker(over, { dataDir });
    expect(await again.ctx.store.queueLoad(one.owner.meshId, [one.members[0]!.keys.publicKey], one.owner.memberId)).toEqual(counts);
    const o1 = await connect(again.url, one.owner, { receive: "pull" });
    const o2 = await connect(again.url, two.owner, { receive: "pull" });
    await expect(sendText(o1, one.members[0]!.keys.publicKey, "3")).rejects.toMatchObject({ code: "quota_exceeded", message: expect.stringContaining("(meshQueueQuota)") });
    await sendText(o2, two.members[0]!.keys.publicKey, "the broker's last entry");
    await expect(sendText(o2, two.members[0]!.keys.publicKey, "one too many")).rejects.toMatchObject({ code: "quota_exceeded", message: BROKER_FULL });
    o1.close();
    o2.close();
  });

  test("after kill -9, the bound holds from what was stored", async () => {
    const dir = tempDir("cm-queue-bounds-kill-");
    const args = ["--broker-queue-quota", "3"];
    const { owner, bob } = await (async () => {
      await using first = await spawnBroker(dir, args);
      const m = await meshOf(first.url, ["bob", "carol"]);
      for (const n of [1, 2, 3]) await sendText(m.o, m.members[0]!.keys.publicKey, `to bob ${n}`); // answered: committed and flushed
      first.proc.kill("SIGKILL");
      await first.proc.exited;
      m.o.close();
      return { owner: m.owner, bob: m.members[0]! };
    })();
    await using second = await spawnBroker(dir, args);
    const o = await connect(second.url, owner, { receive: "pull" });
    await expect(sendText(o, owner.keys.publicKey, "to myself")).rejects.toMatchObject({ code: "quota_exceeded", message: BROKER_FULL });
    const bb = await connect(second.url, bob, { receive: "pull" });
    const { messages } = await bb.client.request("fetch", {});
    expect(messages).toHaveLength(3);
    await bb.client.request("ack", { messageIds: [messages[0]!.messageId] });
    expect((await sendText(o, owner.keys.publicKey, "to myself")).undeliverable).toEqual([]);
    bb.close();
    o.close();
  });
});
