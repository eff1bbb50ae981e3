// A keyed table for the broker's hot path: keys that come and go at message rate (a message in
// flight, a mailbox's uncommitted count, a queued message's bookkeeping).
//
// Why not a Map. JavaScriptCore's Map and Set link each hash table they outgrow or rehash to the
// one that replaces it. A table that survived an eden collection is old; once it is replaced, the
// link written into it puts it in the remembered set, and the next eden collection follows it to
// every later table of that Map and to everything those tables still hold, deleted entries'
// values included. So a Map whose keys churn promotes everything it held since the last
// collection, and all of it stays in the heap until the next full collection: 15 cells per relayed
// message in the broker, the garbage whose full collections set its p99 (docs/benchmarks.md,
// "Session 39"). A plain object in dictionary mode keeps one property table and no such link: the
// same churn promotes next to nothing (test/unit/key-table.test.ts counts both).
//
// A new object is not a dictionary yet: its first few dozen distinct keys each make a structure
// transition (and a Structure cell) before JavaScriptCore turns it into one. So a KeyTable is for
// tables that live as long as the broker, not for one per connection or per mailbox.

type Key = string | number;

export class KeyTable<V extends object | string | number | boolean> {
  private readonly slots: Record<Key, V> = Object.create(null);
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(key: Key): V | undefined {
    return this.slots[key];
  }

  has(key: Key): boolean {
    return this.slots[key] !== undefined;
  }

  set(key: Key, value: V): this {
    if (this.slots[key] === undefined) this.count++;
    this.slots[key] = value;
    return this;
  }

  delete(key: Key): boolean {
    if (this.slots[key] === undefined) return false;
    delete this.slots[key];
    this.count--;
    return true;
  }

  /** Every entry, in the order objects list their keys: integer keys ascending, then the others
   *  in insertion order. Keys come back as strings (a number key as its decimal string). */
  *entries(): IterableIterator<[string, V]> {
    for (const k in this.slots) yield [k, this.slots[k]!];
  }
}
