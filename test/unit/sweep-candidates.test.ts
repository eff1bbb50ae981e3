// The sweep's deletion plans (store/sqlite/sweep-candidates.ts): a batch looks at no more than its
// limit of messages, lingering messages are looked at again only once freed, and a round of batches
// (until a plan is not full) still deletes exactly the messages past the cutoff that no mailbox
// holds. Checked against a brute-force model under random sends, acks and expiries.
import { expect, test } from "bun:test";
import { seeded } from "../../bench/seeded.ts";
import { QueueIndex, type QueueEntry } from "../../src/store/sqlite/queue-index.ts";


const boxes = ["a", "b", "c"];
const live = (index: QueueIndex) => boxes.flatMap((b) => index.entriesOf("mesh", b));

for (const seed of [11, 12, 13, 14, 15, 16]) {
  test(`rounds of bounded plans delete exactly the unheld messages past the cutoff (seed ${seed})`, () => {
    const rnd = seeded(seed);
    const index = new QueueIndex();
    const stored = new Map<number, { createdAt: number; topic: boolean }>(); // rows not yet deleted
    let seq = 0;
    let now = 0;
    for (let step = 0; step < 1500; step++) {
      const r = rnd();
      if (r < 0.6) {
        seq++;
        const topic = rnd() < 0.1;
        stored.set(seq, { createdAt: now, topic });
        index.admit(
          { seq, id: `m${seq}`, meshId: "mesh", senderMemberId: "s", senderPubkey: "s", clientMessageId: `c${seq}`, createdAt: now, topic: topic ? { id: 1, offset: seq } : null },
          index.keyOf("mesh", "s", `c${seq}`),
          boxes.filter(() => rnd() < 0.3).map((recipient) => ({ recipient, priority: "next", expiresAt: now + 1000, claimedBy: null, forNextSession: false })),
        );
        now += Math.floor(rnd() * 3);
      } else if (r < 0.85) {
        index.remove(live(index).filter(() => rnd() < 0.15));
      } else {
        // A sweep round with a cutoff behind now; some of its entries expire in its first batch.
        const cutoff = now - Math.floor(rnd() * 50);
        const limit = 1 + Math.floor(rnd() * 30);
        const expiring = live(index).filter(() => rnd() < 0.05);
        const held = new Set(live(index).filter((e) => !expiring.includes(e)).map((e) => e.seq));
        const want = [...stored].filter(([s, m]) => !m.topic && m.createdAt < cutoff && !held.has(s)).map(([s]) => s);
        const deleted: number[] = [];
        for (let batch = 0, full = true; full; batch++) {
          const emptying = batch === 0 ? emptied(index, expiring) : new Set<number>();
          const plan = index.deletionPlan(cutoff, emptying, limit);
          expect(plan.seqs.length + plan.linger.length).toBeLessThanOrEqual(limit);
          if (batch === 0) index.remove(expiring);
          index.afterDeletion(plan, []);
          deleted.push(...plan.seqs);
          full = plan.full;
          expect(batch).toBeLessThan(10_000);
        }
        expect(deleted.toSorted((x, y) => x - y)).toEqual(want);
        for (const s of deleted) stored.delete(s);
      }
    }
  });
}

/** Which messages lose their last entry when `entries` go (as the sweep computes it). */
function emptied(index: QueueIndex, entries: QueueEntry[]): Set<number> {
  return new Set([...index.leftAfter(entries)].filter(([, n]) => n === 0).map(([s]) => s));
}

test("a plan looks at no more than its limit: 5,000 held messages past the cutoff take 50 batches of 100", () => {
  const index = new QueueIndex();
  for (let seq = 1; seq <= 5000; seq++) {
    index.admit(
      { seq, id: `m${seq}`, meshId: "mesh", senderMemberId: "s", senderPubkey: "s", clientMessageId: `c${seq}`, createdAt: 0, topic: null },
      index.keyOf("mesh", "s", `c${seq}`),
      [{ recipient: "a", priority: "next", expiresAt: 1e12, claimedBy: null, forNextSession: false }],
    );
  }
  const sizes: number[] = [];
  for (let full = true; full; ) {
    const plan = index.deletionPlan(1, new Set(), 100);
    sizes.push(plan.linger.length);
    index.afterDeletion(plan, []);
    full = plan.full;
  }
  expect(sizes).toEqual([...Array(50).fill(100), 0]);
  // Lingering, they are not looked at again until freed: then only the freed ones are.
  expect(index.deletionPlan(1, new Set(), 100)).toMatchObject({ seqs: [], linger: [], full: false });
  index.remove(index.entriesOf("mesh", "a").slice(0, 3));
  expect(index.deletionPlan(1, new Set(), 100)).toMatchObject({ seqs: [1, 2, 3], linger: [], full: false });
});
