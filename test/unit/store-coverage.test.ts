// Pins three QueueIndex behaviours that mutation testing found unguarded:
//  - the rebuild on open pages through both tables (PAGE_ROWS = 10,000 in queue-index.ts): with
//    more message rows and more queue rows than one page, a reopened store holds exactly the same
//    mailboxes, order, priorities, expiries, delivered flags and de-duplication keys;
//  - topic messages are history: the sweep's de-duplication-window rule never deletes them (live,
//    and after a reopen), while queue-only messages past the window are deleted;
//  - the sweep's "recent" list compacts once most of it is consumed, and sweeps after the
//    compaction still delete exactly the messages past the cutoff.
import { afterEach, describe, expect, setSystemTime, test } from "bun:test";
import { QueueIndex, type NewEntry } from "../../src/store/sqlite/queue-index.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";
import type { Priority } from "../../src/protocol/fields.ts";
import type { Member, NewMessage, Topic } from "../../src/store/types.ts";
import { scratchDir } from "../preload.ts";
import { addMember, commitAll, count, directMessage, pubkey, seedMesh, sweepAll, TempDirs } from "./store-fixtures.ts";

const tmp = new TempDirs();
afterEach(() => {
  setSystemTime();
  tmp.cleanup();
});
const dir = () => scratchDir("cm-store-cov-");

const topicMessage = (from: Member, topic: Topic, to: string[], over: Partial<NewMessage> = {}): NewMessage =>
  directMessage(from, to, { kind: "topic", target: `#${topic.name}`, topic: topic.name, topicId: topic.id, ...over });

/** What a mailbox hands out: every unexpired entry in order, and those of each priority (the
 *  entry's own priority gates claims). Claims are released again: the snapshot changes nothing. */
async function mailbox(store: SqliteStore, meshId: string, box: string) {
  const ids = async (priorities?: Priority[]) => {
    const claimed = await store.claim(meshId, [box], { conn: "snapshot", limit: 1_000_000, priorities });
    await store.releaseClaims("snapshot");
    return claimed.map((m) => m.id);
  };
  return { depth: await store.queueDepth({ meshId, pubkey: box }), all: await ids(), now: await ids(["now"]), next: await ids(["next"]), low: await ids(["low"]) };
}

describe("the rebuild on open pages through both tables", () => {
  test("10,500 messages in 11,850 queue rows over two meshes reopen with the same mailboxes, order, priorities, expiries, delivered flags and dedup keys", async () => {
    const d = dir();
    const a = await tmp.open(d);
    const alpha = await seedMesh(a, "alpha");
    const beta = await seedMesh(a, "beta");
    const boxes = Array.from({ length: 4 }, pubkey);
    const lone = pubkey();
    const t0 = Date.now();
    const priorities: Priority[] = ["now", "next", "low"];
    // Every 7th message goes to mesh beta's one mailbox; in alpha every 2nd is queued to two
    // mailboxes; every 4th expires an hour before the others.
    const plan = Array.from({ length: 10_500 }, (_, i) => {
      const inBeta = i % 7 === 0;
      const to = inBeta ? [lone] : i % 2 === 0 ? [boxes[i % 4]!, boxes[(i + 1) % 4]!] : [boxes[i % 4]!];
      return { i, inBeta, to, early: i % 4 === 0 };
    });
    const sent = await commitAll(
      a,
      plan.map((p) =>
        directMessage((p.inBeta ? beta : alpha).owner, p.to, {
          kind: p.to.length > 1 ? "broadcast" : "direct",
          priority: priorities[p.i % 3]!,
          expiresAt: t0 + (p.early ? 3_600_000 : 7_200_000),
        }),
      ),
    );
    // Holes: every 5th (from 1) is acked by its first mailbox; every 10th (from 3) by all of them.
    const acked = new Map<string, string[]>(); // "mesh box" → ids, one ack per mailbox
    const left = plan.map((p) => p.to.length);
    const touched = plan.map(() => false);
    for (const p of plan) {
      const by = p.i % 10 === 3 ? p.to : p.i % 5 === 1 ? p.to.slice(0, 1) : [];
      for (const box of by) {
        const key = `${p.inBeta ? beta.mesh.id : alpha.mesh.id} ${box}`;
        acked.set(key, [...(acked.get(key) ?? []), sent[p.i]!.message.id]);
        left[p.i]!--;
        touched[p.i] = true;
      }
    }
    for (const [key, ids] of acked) {
      const [meshId, box] = key.split(" ") as [string, string];
      await a.ack(meshId, [box], ids, t0);
    }
    const all = [...boxes.map((b) => [alpha.mesh.id, b] as const), [beta.mesh.id, lone] as const];
    const before = await Promise.all(all.map(([m, b]) => mailbox(a, m, b)));
    const total = await a.totalQueueDepth();
    expect(total).toBe(11_850);
    // The first page of queue rows ends inside a message's rows (message 8,860 holds rows
    // 10,000 and 10,001), so the cursor must resume within one message.
    expect([left.slice(0, 8860).reduce((x, y) => x + y, 0), left[8860]]).toEqual([9999, 2]);
    expect(count(a, "messages")).toBeGreaterThan(10_000);
    a.close();

    const b = await tmp.open(d);
    expect(await Promise.all(all.map(([m, box]) => mailbox(b, m, box)))).toEqual(before);
    expect(await b.totalQueueDepth()).toBe(total); // no mailbox beyond those five
    // Every message, on either page, queued or fully acked, is still a retry's original.
    const found = await Promise.all(plan.map((p) => b.findSent(sent[p.i]!.message.meshId, sent[p.i]!.message.senderPubkey, sent[p.i]!.message.clientMessageId)));
    expect(found.map((f) => f?.message.id)).toEqual(sent.map((o) => o.message.id));

    // Past the early expiry: exactly the early entries go; those of messages nobody acked are
    // reported (an ack that left another copy marked the message delivered); past the window
    // every message no mailbox holds any more is deleted, the last page's included.
    const early = plan.filter((p) => p.early && left[p.i]! > 0);
    expect(early.filter((p) => touched[p.i]).length).toBeGreaterThan(100); // delivered: not reported
    const swept = await sweepAll(b, t0 + 5_400_000, 1);
    expect(swept.sweeps).toBeGreaterThan(4); // 4,350 expired rows, at most SWEEP_BATCH a sweep
    expect(swept.expiredRows).toBe(early.reduce((n, p) => n + left[p.i]!, 0));
    // Each sweep reports its own in order; a message whose entries span two sweeps comes in the second.
    expect(swept.expiredMessages.map((m) => m.id).sort()).toEqual(early.filter((p) => !touched[p.i]).map((p) => sent[p.i]!.message.id).sort());
    const gone = plan.filter((p) => left[p.i] === 0 || (p.early && left[p.i]! > 0));
    expect(gone.some((p) => p.i >= 10_000)).toBe(true);
    expect(swept.deletedMessages).toBe(gone.length);
    expect(count(b, "messages")).toBe(plan.length - gone.length);
  });
});

describe("topic messages are history, not swept", () => {
  test("past the de-duplication window the sweep deletes unqueued direct messages but no topic message, before and after a reopen", async () => {
    const d = dir();
    const a = await tmp.open(d);
    const { mesh, owner } = await seedMesh(a);
    const peer = await addMember(a, owner, "peer");
    const topic = await a.createTopic(mesh.id, "design", "", owner.id);
    const t0 = Date.now();
    const [historyOnly, , , ackedTopic, expiringTopic] = await a.commitSends(
      [
        topicMessage(owner, topic, []),
        topicMessage(owner, topic, []),
        topicMessage(owner, topic, []),
        topicMessage(owner, topic, [peer.pubkey]),
        topicMessage(owner, topic, [peer.pubkey], { expiresAt: t0 + 1000 }),
      ],
      0,
    );
    const [ackedDirect, , expiringDirect] = await a.commitSends(
      [
        directMessage(owner, [peer.pubkey]),
        directMessage(owner, [peer.pubkey], { expiresAt: t0 + 36_000_000 }),
        directMessage(owner, [peer.pubkey], { expiresAt: t0 + 1000 }),
      ],
      0,
    );
    await a.ack(mesh.id, [peer.pubkey], [ackedTopic!.message.id, ackedDirect!.message.id], t0);

    const swept = await a.sweep(t0 + 3_600_000, 10_000);
    expect(swept.expiredRows).toBe(2);
    expect(swept.expiredMessages.map((m) => m.id)).toEqual([expiringTopic!.message.id, expiringDirect!.message.id]);
    expect(swept.deletedMessages).toBe(2); // the acked and the expired direct message; the other is still queued
    const history = await a.topicHistory(topic.id, 0, 100);
    expect(history).toMatchObject({ earliestOffset: 1, lastOffset: 5 });
    expect(history.messages.map((m) => m.topicOffset)).toEqual([1, 2, 3, 4, 5]);
    expect(await a.findSent(mesh.id, owner.pubkey, historyOnly!.message.clientMessageId)).toEqual({ message: historyOnly!.message, undeliverable: [] });
    expect(count(a, "messages")).toBe(6);
    a.close();

    // The reopened index must know the rows' kinds from the table alone.
    const b = await tmp.open(d);
    const [late] = await b.commitSends([directMessage(owner, [peer.pubkey])], 0);
    await b.ack(mesh.id, [peer.pubkey], [late!.message.id], t0);
    const again = await b.sweep(t0 + 7_200_000, 10_000);
    expect(again.deletedMessages).toBe(1);
    expect((await b.topicHistory(topic.id, 0, 100)).messages.map((m) => m.topicOffset)).toEqual([1, 2, 3, 4, 5]);
    expect(count(b, "messages")).toBe(6);
  });
});

describe("the sweep's recent list compacts", () => {
  const admitted = (seq: number, createdAt: number) => ({ seq, id: `m${seq}`, meshId: "mesh", senderMemberId: "s", senderPubkey: "s", clientMessageId: `c${seq}`, createdAt, topic: null });
  const held: NewEntry = { recipient: "box", priority: "next", expiresAt: Number.MAX_SAFE_INTEGER, claimedBy: null, forNextSession: false };
  const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

  test("QueueIndex: after most of the list is consumed it restarts at 0, and later plans still pick exactly the entries past the cutoff", () => {
    const index = new QueueIndex();
    // seqs 1–6000 at t=1000 and 6001–8000 at t=2000, all delivered; 8001–10000 at t=3000, queued.
    for (const seq of range(1, 8000)) index.admit(admitted(seq, seq <= 6000 ? 1000 : 2000), index.keyOf("mesh", "s", `c${seq}`), []);
    for (const seq of range(8001, 2000)) index.admit(admitted(seq, 3000), index.keyOf("mesh", "s", `c${seq}`), [held]);
    const step = (cutoff: number) => {
      const plan = index.deletionPlan(cutoff, new Set());
      index.afterDeletion(plan, []);
      return plan;
    };

    expect(step(1500)).toEqual({ seqs: range(1, 6000), nextHead: 6000, linger: [], full: false });
    // 6,000 of 10,000 consumed: the list was cut down to its unconsumed 4,000 and starts at 0.
    expect(step(1500)).toEqual({ seqs: [], nextHead: 0, linger: [], full: false });
    expect(step(2500)).toEqual({ seqs: range(6001, 2000), nextHead: 2000, linger: [], full: false });
    expect(step(3500)).toEqual({ seqs: [], nextHead: 4000, linger: range(8001, 2000).map((s) => [s, 3000]), full: false });
    index.remove(index.entriesOf("mesh", "box"));
    expect(step(3500)).toEqual({ seqs: range(8001, 2000), nextHead: 4000, linger: [], full: false });
  });

  test("store: across the compaction each sweep deletes exactly the delivered messages older than its cutoff", async () => {
    const store = await tmp.open(dir());
    const { mesh, owner } = await seedMesh(store);
    const box = pubkey();
    const T0 = 1_900_000_000_000;
    const sendAt = async (at: number, n: number) => {
      setSystemTime(new Date(at)); // createdAt is the store's Date.now()
      return commitAll(store, Array.from({ length: n }, () => directMessage(owner, [box], { expiresAt: T0 + 3_600_000 })));
    };
    const ackAll = (sent: { message: { id: string } }[]) => store.ack(mesh.id, [box], sent.map((o) => o.message.id), T0);
    const sweepAt = async (cutoff: number) => (await sweepAll(store, cutoff + 60_000, 60_000)).deletedMessages;

    await ackAll(await sendAt(T0, 6000));
    await ackAll(await sendAt(T0 + 10_000, 2000));
    const young = await sendAt(T0 + 20_000, 2000);

    expect(await sweepAt(T0 + 5000)).toBe(6000); // compacts: 6,000 of 10,000 consumed
    expect(await sweepAt(T0 + 15_000)).toBe(2000);
    expect(count(store, "messages")).toBe(2000);
    await ackAll(young);
    expect(await sweepAt(T0 + 15_000)).toBe(0); // delivered now, but younger than the cutoff
    expect(await store.findSent(mesh.id, owner.pubkey, young[0]!.message.clientMessageId)).toEqual({ message: young[0]!.message, undeliverable: [] });
    expect(await sweepAt(T0 + 25_000)).toBe(2000);
    expect(count(store, "messages")).toBe(0);
    expect(await store.findSent(mesh.id, owner.pubkey, young[0]!.message.clientMessageId)).toBeNull();
  });
});
