// The sweep finds expired queue entries through a heap by expiry (store/sqlite/expiry-heap.ts)
// instead of walking every mailbox: each sweep batch used to walk the whole in-memory queue.
// Checked here against a brute-force model of the same index, with random TTLs, acks and expiries.
import { describe, expect, test } from "bun:test";
import { seeded } from "../../bench/seeded.ts";
import { EXPIRY_HEAP_SLACK, ExpiryHeap } from "../../src/store/sqlite/expiry-heap.ts";
import { QueueIndex, type QueueEntry } from "../../src/store/sqlite/queue-index.ts";


const boxes = ["a", "b", "c", "d", "e"];
const keyOf = (e: QueueEntry) => `${e.seq}:${e.recipient}`;
/** Every live entry, brute force: the old walk of every mailbox. */
const allEntries = (index: QueueIndex) => boxes.flatMap((b) => index.entriesOf("mesh", b));
/** The old walk's answer, in the heap's order: earliest expiry, then seq, then recipient. */
const earliest = (due: QueueEntry[], limit: number) =>
  due
    .sort((a, b) => a.expiresAt - b.expiresAt || a.seq - b.seq || (a.recipient < b.recipient ? -1 : 1))
    .slice(0, limit === Infinity ? undefined : limit)
    .map(keyOf);

describe("QueueIndex.expired", () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    test(`matches a walk of every mailbox under random sends, acks and sweeps (seed ${seed})`, () => {
      const rnd = seeded(seed);
      const index = new QueueIndex();
      let seq = 0;
      let now = 0;
      for (let step = 0; step < 4000; step++) {
        const r = rnd();
        if (r < 0.55) {
          seq++;
          const ttl = Math.floor(rnd() * 500);
          const to = boxes.filter(() => rnd() < 0.4);
          index.admit(
            { seq, id: `m${seq}`, meshId: "mesh", senderMemberId: "s", senderPubkey: "s", clientMessageId: `c${seq}`, createdAt: now, topic: null },
            index.keyOf("mesh", "s", `c${seq}`),
            to.map((recipient) => ({ recipient, priority: "next", expiresAt: now + ttl, claimedBy: rnd() < 0.2 ? "conn" : null, forNextSession: false })),
          );
        } else if (r < 0.8) {
          // An ack: a few live entries leave.
          const live = allEntries(index);
          index.remove(live.filter(() => rnd() < 0.1));
        } else if (r < 0.97) {
          now += Math.floor(rnd() * 40);
          const limit = rnd() < 0.5 ? Infinity : 1 + Math.floor(rnd() * 20);
          const want = earliest(allEntries(index).filter((e) => e.expiresAt <= now), limit);
          const got = index.expired(now, limit);
          expect(got.map(keyOf)).toEqual(want);
          // A sweep that rolls back finds the same entries again; one that commits removes them.
          expect(index.expired(now, limit).map(keyOf)).toEqual(want);
          if (rnd() < 0.7) index.remove(got);
        } else {
          index.release("conn");
        }
        expect(index.expiryHeld).toBeLessThanOrEqual(2 * index.size + EXPIRY_HEAP_SLACK);
      }
    });
  }

  test("acked entries do not pile up in the heap: it keeps within twice the queue plus its slack", () => {
    const index = new QueueIndex();
    for (let seq = 1; seq <= 20_000; seq++) {
      index.admit(
        { seq, id: `m${seq}`, meshId: "mesh", senderMemberId: "s", senderPubkey: "s", clientMessageId: `c${seq}`, createdAt: 0, topic: null },
        index.keyOf("mesh", "s", `c${seq}`),
        [{ recipient: "a", priority: "now", expiresAt: 7 * 86_400_000, claimedBy: null, forNextSession: false }],
      );
      // Acked at once: without compaction every entry would wait in the heap for its 7 days.
      if (seq % 10 !== 0) index.remove(index.entriesOf("mesh", "a").slice(-1));
    }
    expect(index.size).toBe(2000);
    expect(index.expiryHeld).toBeLessThanOrEqual(2 * 2000 + EXPIRY_HEAP_SLACK);
    expect(index.expired(7 * 86_400_000, Infinity).map((e) => e.seq)).toEqual(Array.from({ length: 2000 }, (_, i) => 10 * (i + 1)));
  });

  test("a mailbox that acks each push as it comes leaves at most 64 acked entries in the heap", () => {
    // What the heap holds when an eden collection comes is promoted (docs/benchmarks.md, "Session 39").
    const index = new QueueIndex();
    let most = 0;
    for (let seq = 1; seq <= 10_000; seq++) {
      index.admit(
        { seq, id: `m${seq}`, meshId: "mesh", senderMemberId: "s", senderPubkey: "s", clientMessageId: `c${seq}`, createdAt: 0, topic: null },
        index.keyOf("mesh", "s", `c${seq}`),
        [{ recipient: "a", priority: "now", expiresAt: 7 * 86_400_000, claimedBy: null, forNextSession: false }],
      );
      index.remove(index.entriesOf("mesh", "a"));
      most = Math.max(most, index.expiryHeld);
    }
    expect(EXPIRY_HEAP_SLACK).toBe(64);
    expect(most).toBe(EXPIRY_HEAP_SLACK);
  });
});

describe("ExpiryHeap", () => {
  test("gives the earliest first, ties by seq then recipient, and drops dead entries it meets", () => {
    const dead = new Set<number>();
    const heap = new ExpiryHeap<{ expiresAt: number; seq: number; recipient: string }>((e) => !dead.has(e.seq));
    for (const [expiresAt, seq] of [[5, 4], [3, 2], [5, 3], [1, 1], [9, 5]] as const) heap.push({ expiresAt, seq, recipient: "a" });
    dead.add(2);
    expect(heap.expired(5, Infinity).map((e) => e.seq)).toEqual([1, 3, 4]);
    expect(heap.size).toBe(4);
    expect(heap.expired(5, 2).map((e) => e.seq)).toEqual([1, 3]);
    expect(heap.expired(0, Infinity)).toEqual([]);
    heap.push({ expiresAt: 1, seq: 1, recipient: "0" });
    expect(heap.expired(1, Infinity).map((e) => `${e.seq}${e.recipient}`)).toEqual(["10", "1a"]);
  });
});
