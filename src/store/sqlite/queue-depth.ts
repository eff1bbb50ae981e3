// Queue depth per mailbox, kept in memory so quota checks on every send cost no query. A mailbox
// is counted with COUNT(*) the first time it is asked about; after that every insert and delete
// of its rows adjusts the count. Changes are collected during a transaction and applied only
// after it commits, so a rollback never skews a count.
//
// Exact for one broker process per database file (the embedded deployment). Writes made by another
// process on the same file are not seen until the store is reopened.
import type { Database } from "bun:sqlite";

const key = (meshId: string, pubkey: string) => `${meshId}\u0000${pubkey}`;

/** Row-count changes of one transaction, applied with QueueDepth.apply after commit. */
export class DepthDelta {
  readonly changes = new Map<string, number>();
  readonly cleared = new Set<string>();

  add(meshId: string, pubkey: string, n: number): void {
    const k = key(meshId, pubkey);
    this.changes.set(k, (this.changes.get(k) ?? 0) + n);
  }

  /** The mailbox lost all its rows (revocation, session end). */
  clear(meshId: string, pubkey: string): void {
    const k = key(meshId, pubkey);
    this.cleared.add(k);
    this.changes.delete(k);
  }
}

export class QueueDepth {
  private readonly counts = new Map<string, number>();

  constructor(private readonly db: Database) {}

  /** Current number of queue rows (expired rows count until swept). */
  get(meshId: string, pubkey: string): number {
    const k = key(meshId, pubkey);
    let n = this.counts.get(k);
    if (n === undefined) {
      n = this.db.query<{ n: number }, [string, string]>("SELECT COUNT(*) AS n FROM queue WHERE mesh_id = ? AND recipient = ?").get(meshId, pubkey)!.n;
      this.counts.set(k, n);
    }
    return n;
  }

  /** Applies a committed transaction's changes. Mailboxes not yet counted are skipped: their
   *  first COUNT(*) will include the committed rows. */
  apply(delta: DepthDelta): void {
    // A cleared mailbox is forgotten (ended sessions must not accumulate); it is recounted if used.
    for (const k of delta.cleared) this.counts.delete(k);
    for (const [k, n] of delta.changes) {
      const cur = this.counts.get(k);
      if (cur !== undefined) this.counts.set(k, Math.max(0, cur + n));
    }
  }
}
