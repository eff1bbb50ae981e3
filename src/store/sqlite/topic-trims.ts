// Topic history retention, with its bookkeeping in memory so that no post rescans old history.
//
// A post that makes offset N a topic's last pushes offset N − topicHistory out of the window. That
// one offset is deleted at once (trimOnPost), unless a mailbox still holds it; what stays behind
// is deleted by the sweep once no mailbox holds it (trimBehind). Until this existed,
// every post deleted "everything out of the window that no mailbox holds" with one query, which
// read every held row again on every post: with an offline member holding thousands of posts, a
// topic's posts slowed from ~9,000/s to ~200/s and each one stalled the event loop.
//
// Every deletion of a topic message is one of these two, so every offset above the highest one
// deleted is retained: that bound starts the run a reader can resume from (earliestOffset), with
// no query over the topic's history.
import type { Database } from "bun:sqlite";
import type { MessageKeyRow } from "./queue-index.ts";

export type TrimmedRow = MessageKeyRow & { topic_id: number; topic_offset: number };

const RETURNING = "RETURNING seq, mesh_id, sender_pubkey, client_message_id, topic_id, topic_offset";
const UNHELD = "NOT EXISTS (SELECT 1 FROM queue q WHERE q.message_seq = messages.seq)";

export class TopicTrims {
  /** Per topic: the highest offset deleted so far (read from the database once per topic). */
  private readonly trimmed = new Map<number, number>();
  /** Per topic: the highest offset that has left the window since this process started; the
   *  sweep deletes what stayed behind it. (After a restart a topic's next post sets it again.) */
  private readonly behind = new Map<number, number>();

  constructor(private readonly db: Database) {}

  /** Inside a post's transaction: deletes offset `outOfWindow` of the topic if no mailbox holds
   *  it. After the commit, call deleted() with the rows and left() with the offset. */
  trimOnPost(topicId: number, outOfWindow: number): TrimmedRow[] {
    if (outOfWindow < 1) return [];
    return this.db.query<TrimmedRow, [number, number]>(`DELETE FROM messages WHERE topic_id = ? AND topic_offset = ? AND ${UNHELD} ${RETURNING}`).all(topicId, outOfWindow);
  }

  /** After a post's commit: offsets up to `outOfWindow` have left the topic's window. */
  left(topicId: number, outOfWindow: number): void {
    if (outOfWindow > (this.behind.get(topicId) ?? 0)) this.behind.set(topicId, outOfWindow);
  }

  /** Inside the sweep's transaction: deletes what stayed behind each topic's window and no
   *  mailbox holds any more, at most `limit` rows (the rest go in the next sweep). It walks the
   *  rows behind the window by the (topic_id, topic_offset) index, the held ones included: each
   *  sweep reads those again (~0.4 µs a row; the queue quota bounds how many a member holds). */
  trimBehind(limit: number): TrimmedRow[] {
    const del = this.db.query<TrimmedRow, [number, number, number]>(
      `DELETE FROM messages WHERE seq IN (SELECT seq FROM messages WHERE topic_id = ? AND topic_offset <= ? AND ${UNHELD} LIMIT ?) ${RETURNING}`,
    );
    const out: TrimmedRow[] = [];
    for (const [topicId, through] of this.behind) {
      if (out.length >= limit) break;
      out.push(...del.all(topicId, through, limit - out.length));
    }
    return out;
  }

  /** After the commit that deleted `rows`. */
  deleted(rows: readonly TrimmedRow[]): void {
    for (const r of rows) {
      if (r.topic_offset > this.trimmedThrough(r.topic_id)) this.trimmed.set(r.topic_id, r.topic_offset);
    }
  }

  /** The first offset of the unbroken run of retained offsets that ends at `lastOffset`. */
  earliestOffset(topicId: number): number {
    return this.trimmedThrough(topicId) + 1;
  }

  /** The highest offset deleted from the topic. Read once from what the database holds: the run
   *  the retained offsets end with starts right after it. */
  private trimmedThrough(topicId: number): number {
    const known = this.trimmed.get(topicId);
    if (known !== undefined) return known;
    const runStart = this.db
      .query<{ o: number | null }, [number]>(
        `SELECT MAX(m.topic_offset) AS o FROM messages m WHERE m.topic_id = ?1
           AND NOT EXISTS (SELECT 1 FROM messages p WHERE p.topic_id = ?1 AND p.topic_offset = m.topic_offset - 1)`,
      )
      .get(topicId)!.o;
    const last = this.db.query<{ last_offset: number }, [number]>("SELECT last_offset FROM topics WHERE id = ?").get(topicId)?.last_offset ?? 0;
    const through = runStart === null ? last : runStart - 1;
    this.trimmed.set(topicId, through);
    return through;
  }
}
