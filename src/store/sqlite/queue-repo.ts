// Delivery state: claiming queued rows for a connection, acks, and releasing claims. A row is
// handed to one connection at a time: rows with claimed_by NULL are picked and marked in one
// immediate write transaction, so concurrent claimers (even on other connections) get disjoint rows.
import type { Database } from "bun:sqlite";
import type { ClaimOptions, StoredMessage } from "../types.ts";
import { DepthDelta, type QueueDepth } from "./queue-depth.ts";
import { jsonList, MESSAGE_SELECT, messageFromRow, type MessageRow } from "./rows.ts";
import { writeTx } from "./transaction.ts";

const IN_LIST = "IN (SELECT value FROM json_each(?))";

export class QueueRepo {
  constructor(
    private readonly db: Database,
    private readonly depth: QueueDepth,
  ) {}

  /** Claims up to `limit` unclaimed, unexpired rows of the mailboxes for `conn`, oldest first
   *  (queue order across all the mailboxes), optionally only of some priorities. A message queued
   *  to two of the mailboxes claims both rows and is returned once. */
  claim(meshId: string, mailboxes: readonly string[], opts: ClaimOptions): StoredMessage[] {
    if (mailboxes.length === 0 || opts.limit <= 0 || opts.priorities?.length === 0) return [];
    return writeTx(this.db, () => {
      const rows = this.pickRows(meshId, [...new Set(mailboxes)], opts);
      if (rows.length === 0) return [];
      this.db.query(`UPDATE queue SET claimed_by = ? WHERE seq ${IN_LIST}`).run(opts.conn, jsonList(rows.map((r) => r.seq)));
      const order = [...new Set(rows.map((r) => r.message_seq))];
      const bySeq = new Map(
        this.db
          .query<MessageRow, [string]>(`${MESSAGE_SELECT} WHERE m.seq ${IN_LIST}`)
          .all(jsonList(order))
          .map((r) => [r.seq, messageFromRow(r)] as const),
      );
      return order.map((s) => bySeq.get(s)).filter((m): m is StoredMessage => m !== undefined);
    });
  }

  /** The first `limit` claimable rows across the mailboxes, in queue order. Each mailbox is read
   *  along its (mesh_id, recipient, seq) index and stops after `limit` claimable rows, so a deep
   *  backlog costs nothing extra; an IN list over the mailboxes would read and sort all of it. */
  private pickRows(meshId: string, mailboxes: string[], opts: ClaimOptions): { seq: number; message_seq: number }[] {
    const pick = this.db.query<{ seq: number; message_seq: number }, Record<string, string | number | null>>(
      `SELECT seq, message_seq FROM queue
       WHERE mesh_id = $meshId AND recipient = $recipient AND claimed_by IS NULL AND expires_at > $now
         AND ($priorities IS NULL OR priority IN (SELECT value FROM json_each($priorities)))
       ORDER BY seq LIMIT $limit`,
    );
    const base = { meshId, now: Date.now(), priorities: opts.priorities ? jsonList(opts.priorities) : null, limit: opts.limit };
    const rows = mailboxes.flatMap((recipient) => pick.all({ ...base, recipient }));
    return rows.sort((a, b) => a.seq - b.seq).slice(0, opts.limit);
  }

  /** Deletes the rows of these mailboxes holding these message ids, claimed or not, and marks
   *  those messages delivered (first ack wins). Unknown ids are ignored. Returns rows removed. */
  ack(meshId: string, mailboxes: readonly string[], messageIds: readonly string[], nowMs: number): number {
    return this.ackMany([{ meshId, mailboxes, messageIds }], nowMs)[0]!;
  }

  /** Several acks in one transaction (the broker's group commit of acks); counts in order. */
  ackMany(items: readonly { meshId: string; mailboxes: readonly string[]; messageIds: readonly string[] }[], nowMs: number): number[] {
    const delta = new DepthDelta();
    const counts = writeTx(this.db, () => items.map((it) => this.ackIn(it.meshId, it.mailboxes, it.messageIds, nowMs, delta)));
    this.depth.apply(delta);
    return counts;
  }

  private ackIn(meshId: string, mailboxes: readonly string[], messageIds: readonly string[], nowMs: number, delta: DepthDelta): number {
    if (mailboxes.length === 0 || messageIds.length === 0) return 0;
    if (mailboxes.length === 1 && messageIds.length <= 8) return this.ackFew(meshId, mailboxes[0]!, messageIds, nowMs, delta);
    // Driven by the message index: the mailbox index would walk the whole backlog.
    const rows = this.db
      .query<{ recipient: string; message_seq: number }, [string, string, string]>(
        `DELETE FROM queue INDEXED BY queue_message
         WHERE message_seq IN (SELECT seq FROM messages WHERE id ${IN_LIST})
           AND mesh_id = ? AND recipient ${IN_LIST}
         RETURNING recipient, message_seq`,
      )
      .all(jsonList(messageIds), meshId, jsonList(mailboxes));
    for (const r of rows) delta.add(meshId, r.recipient, -1);
    const seqs = [...new Set(rows.map((r) => r.message_seq))];
    if (seqs.length > 0) {
      this.db.query(`UPDATE messages SET delivered_at = ? WHERE seq ${IN_LIST} AND delivered_at IS NULL`).run(nowMs, jsonList(seqs));
    }
    return rows.length;
  }

  /** The common case (one mailbox, a few ids, one ack per push): plain keyed statements, which
   *  cost a fraction of the IN (json_each) form. */
  private ackFew(meshId: string, mailbox: string, messageIds: readonly string[], nowMs: number, delta: DepthDelta): number {
    const del = this.db.query<{ message_seq: number }, [string, string, string]>(
      `DELETE FROM queue INDEXED BY queue_message
       WHERE message_seq = (SELECT seq FROM messages WHERE id = ?) AND mesh_id = ? AND recipient = ?
       RETURNING message_seq`,
    );
    const delivered = this.db.query("UPDATE messages SET delivered_at = ? WHERE seq = ? AND delivered_at IS NULL");
    let removed = 0;
    for (const id of messageIds) {
      const rows = del.all(id, meshId, mailbox);
      for (const r of rows) delivered.run(nowMs, r.message_seq);
      removed += rows.length;
      if (rows.length) delta.add(meshId, mailbox, -rows.length);
    }
    return removed;
  }

  /** Returns the connection's unacked rows to the queue; they are claimed again, in order, by
   *  the next connection of those mailboxes. */
  releaseClaims(conn: string): number {
    return this.db.query("UPDATE queue SET claimed_by = NULL WHERE claimed_by = ?").run(conn).changes;
  }

  /** Unexpired rows of the mailboxes, claimed or not. */
  pendingCount(meshId: string, mailboxes: readonly string[]): number {
    if (mailboxes.length === 0) return 0;
    return this.db
      .query<{ n: number }, [string, string, number]>(`SELECT COUNT(*) AS n FROM queue WHERE mesh_id = ? AND recipient ${IN_LIST} AND expires_at > ?`)
      .get(meshId, jsonList(mailboxes), Date.now())!.n;
  }

  /** All queue rows of the database (a metrics gauge; one COUNT). */
  total(): number {
    return this.db.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM queue").get()!.n;
  }
}
