// Delivery state: claiming queued entries for a connection, acks, and releasing claims. Claims
// live in the QueueIndex (they belong to connections, which die with the process); an entry is
// handed to one connection at a time because picking and claiming happen in one synchronous step.
import type { Database } from "bun:sqlite";
import type { AckBatchItem, AckCount, ClaimOptions, QueueLoad, StoredMessage } from "../types.ts";
import type { QueueEntry, QueueIndex } from "./queue-index.ts";
import { jsonList, MESSAGE_SELECT, messageFromRow, type MessageRow } from "./rows.ts";
import { writeTx, type Staged } from "./transaction.ts";

/** Deletes these entries' rows; call inside a write transaction, then QueueIndex.remove after it
 *  committed. */
export function deleteEntries(db: Database, entries: Iterable<QueueEntry>): void {
  const del = db.query("DELETE FROM queue WHERE message_seq = ? AND mesh_id = ? AND recipient = ?");
  for (const e of entries) del.run(e.seq, e.meshId, e.recipient);
}

/** The longest prefix of `messages` whose ciphertexts fit in `maxBytes`, and at least one. */
function withinBudget(messages: StoredMessage[], maxBytes: number): StoredMessage[] {
  let bytes = 0;
  for (let i = 0; i < messages.length; i++) {
    bytes += messages[i]!.ciphertext.length;
    if (bytes >= maxBytes) return messages.slice(0, i + 1);
  }
  return messages;
}

export class QueueRepo {
  constructor(
    private readonly db: Database,
    private readonly index: QueueIndex,
  ) {}

  /** Claims up to `limit` unclaimed, unexpired entries of the mailboxes for `conn`, oldest first
   *  (queue order across all the mailboxes), optionally only of some priorities and within a byte
   *  budget. A message queued to two of the mailboxes claims both entries and is returned once. */
  claim(meshId: string, mailboxes: readonly string[], opts: ClaimOptions): StoredMessage[] {
    if (mailboxes.length === 0 || opts.limit <= 0 || opts.priorities?.length === 0) return [];
    const picked = this.index.pick(meshId, [...new Set(mailboxes)], opts.limit, Date.now(), opts.priorities);
    if (picked.length === 0) return [];
    const order = [...new Set(picked.map((e) => e.seq))];
    const rows =
      order.length === 1
        ? [this.db.query<MessageRow, [number]>(`${MESSAGE_SELECT} WHERE m.seq = ?`).get(order[0]!)]
        : this.db.query<MessageRow, [string]>(`${MESSAGE_SELECT} WHERE m.seq IN (SELECT value FROM json_each(?))`).all(jsonList(order));
    const bySeq = new Map(rows.filter((r) => r !== null).map((r) => [r.seq, messageFromRow(r)] as const));
    const out = order.map((s) => bySeq.get(s)).filter((m): m is StoredMessage => m !== undefined);
    const kept = opts.maxBytes === undefined ? out : withinBudget(out, opts.maxBytes);
    if (kept.length < out.length) {
      const seqs = new Set(kept.map((m) => m.seq));
      this.index.claim(picked.filter((e) => seqs.has(e.seq)), opts.conn);
    } else this.index.claim(picked, opts.conn);
    return kept;
  }

  /** Deletes the entries of these mailboxes holding these message ids, claimed or not. Unknown
   *  ids are ignored. Returns entries removed. */
  ack(meshId: string, mailboxes: readonly string[], messageIds: readonly string[], nowMs: number): number {
    return this.ackMany(mailboxes.map((mailbox) => ({ meshId, mailbox, messageIds })), nowMs).reduce((sum, n) => sum + n.removed, 0);
  }

  /** Several acks in one transaction (the broker's group commit of acks); counts in order. A
   *  message acked while other mailboxes still hold it is marked delivered, so that their copies
   *  expiring later do not tell its sender it was never delivered. */
  ackMany(items: readonly AckBatchItem[], nowMs: number): AckCount[] {
    const staged = writeTx(this.db, () => this.stageAcks(items, nowMs));
    staged.apply();
    return staged.out;
  }

  /** ackMany's writes, for a caller that runs them in its own transaction with others; apply()
   *  after that transaction committed. */
  stageAcks(items: readonly AckBatchItem[], nowMs: number): Staged<AckCount[]> {
    const removed = new Set<QueueEntry>();
    const counts = items.map((it) => {
      const n = { removed: 0, notices: 0 };
      for (const id of it.messageIds) {
        const e = this.index.entry(it.meshId, it.mailbox, id);
        if (!e || removed.has(e)) continue;
        removed.add(e);
        n.removed++;
        if (this.index.isNotice(e.seq)) n.notices++;
      }
      return n;
    });
    if (removed.size === 0) return { out: counts, apply: () => {} };
    // Messages that other mailboxes still hold after this batch need delivered_at stored.
    const delivered = [...this.index.leftAfter(removed)].filter(([seq, n]) => n > 0 && !this.index.delivered(seq)).map(([seq]) => seq);
    deleteEntries(this.db, removed);
    const mark = this.db.query("UPDATE messages SET delivered_at = ? WHERE seq = ? AND delivered_at IS NULL");
    for (const seq of delivered) mark.run(nowMs, seq);
    return {
      out: counts,
      apply: () => {
        for (const seq of delivered) this.index.markDelivered(seq);
        this.index.remove(removed);
      },
    };
  }

  /** Returns the connection's unacked entries to the queue; they are claimed again, in order, by
   *  the next connection of those mailboxes. */
  releaseClaims(conn: string): number {
    return this.index.release(conn);
  }

  /** Unexpired entries of the mailboxes, claimed or not. */
  pendingCount(meshId: string, mailboxes: readonly string[]): number {
    return this.index.unexpired(meshId, mailboxes, Date.now());
  }

  /** All queue entries of the database (a metrics gauge). */
  total(): number {
    return this.index.size;
  }

  /** Store.queueLoad: counters the index keeps, never a walk of a mailbox. */
  load(meshId: string, mailboxes: readonly string[], senderMemberId: string): QueueLoad {
    const depths: number[] = [];
    const fromSender: number[] = [];
    for (const m of mailboxes) {
      depths.push(this.index.depth(meshId, m));
      fromSender.push(this.index.depthFrom(meshId, m, senderMemberId));
    }
    return { depths, fromSender, mesh: this.index.meshSize(meshId), total: this.index.size };
  }
}
