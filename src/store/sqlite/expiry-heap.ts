// Queue entries ordered by when they expire, so the sweep finds the expired ones without walking
// every mailbox: a binary min-heap on (expiresAt, seq, recipient), a total order, so which of the
// entries due a bounded sweep takes does not depend on the heap's history. Entries leave lazily:
// one that was acked or expired stays in the heap until it reaches the top (dropped then) or until
// removed entries outnumber live ones (the heap is rebuilt from the live ones), so an ack costs
// nothing here and the heap stays within twice the queue.

type Keyed = { readonly expiresAt: number; readonly seq: number; readonly recipient: string };

const before = (a: Keyed, b: Keyed) =>
  a.expiresAt !== b.expiresAt ? a.expiresAt < b.expiresAt : a.seq !== b.seq ? a.seq < b.seq : a.recipient < b.recipient;

/** Rebuilds once dead entries pass this many and outnumber live ones. Small, because what the heap
 *  holds when an eden collection comes is promoted: with 1,024, a mailbox acking each push as it
 *  came kept nearly every acked entry of the last ~1,000 messages (and its message id) in the old
 *  generation, for the next full collection to find dead (docs/benchmarks.md, "Session 39"). The
 *  rebuild still costs O(1) per removal amortized: it waits for more dead entries than live ones. */
export const EXPIRY_HEAP_SLACK = 64;

export class ExpiryHeap<E extends Keyed> {
  private items: E[] = [];

  /** `live(e)`: whether the queue still holds e (false once it was removed). */
  constructor(private readonly live: (e: E) => boolean) {}

  /** Entries held, dead ones included. */
  get size(): number {
    return this.items.length;
  }

  push(e: E): void {
    this.items.push(e);
    this.up(this.items.length - 1);
  }

  /** The live entries expired at `now`, earliest first, at most `limit` of them. They stay in the
   *  heap (a sweep whose transaction rolls back must find them again); dead ones met on the way are
   *  dropped. O(k log n) for k entries looked at. */
  expired(now: number, limit: number): E[] {
    const out: E[] = [];
    while (out.length < limit && this.items.length > 0 && this.items[0]!.expiresAt <= now) {
      const e = this.pop();
      if (this.live(e)) out.push(e);
    }
    for (const e of out) this.push(e);
    return out;
  }

  /** Called after removals: rebuilds the heap from its live entries once the dead ones passed
   *  EXPIRY_HEAP_SLACK and outnumber `liveCount`. Amortized O(1) per removal. */
  compact(liveCount: number): void {
    if (this.items.length - liveCount <= Math.max(EXPIRY_HEAP_SLACK, liveCount)) return;
    this.items = this.items.filter(this.live);
    for (let i = (this.items.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  private pop(): E {
    const top = this.items[0]!;
    const last = this.items.pop()!;
    if (this.items.length > 0) {
      this.items[0] = last;
      this.down(0);
    }
    return top;
  }

  private up(i: number): void {
    const a = this.items;
    const e = a[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(e, a[p]!)) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = e;
  }

  private down(i: number): void {
    const a = this.items;
    const n = a.length;
    const e = a[i]!;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && before(a[c + 1]!, a[c]!)) c++;
      if (!before(a[c]!, e)) break;
      a[i] = a[c]!;
      i = c;
    }
    a[i] = e;
  }
}
