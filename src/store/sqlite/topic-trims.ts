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
//
// The sweep looks only at what may have become deletable since it last looked: the rows that lost
// their last queue entry (QueueIndex reports them), each deleted if it is behind its window. A
// row freed inside the window needs nothing: trimOnPost meets it when it leaves. The one exception
// is a topic's first window move in this process, when rows freed before a restart may wait
// behind it: that topic's rows behind the window are all looked at once. Until session 26 every
// sweep read every held row behind every window again.
import type { Database } from "bun:sqlite";
import type { MessageKeyRow, TopicPlace } from "./queue-index.ts";

export type TrimmedRow = MessageKeyRow & { topic_id: number; topic_offset: number };

/** What a sweep deleted behind the windows, and what it looked at (the freed rows, and the
 *  topics whose rows behind the window it walked all the way through): for settled(). */
export type BehindTrim = { rows: TrimmedRow[]; looked: number[]; walked: number[] };

const RETURNING = "RETURNING seq, mesh_id, sender_pubkey, client_message_id, topic_id, topic_offset";
const UNHELD = "NOT EXISTS (SELECT 1 FROM queue q WHERE q.message_seq = messages.seq)";

export class TopicTrims {
  /** Per topic: the highest offset deleted so far (read from the database once per topic). */
  private readonly trimmed = new Map<number, number>();
  /** Per topic: the highest offset that has left the window since this process started; the
   *  sweep deletes what stayed behind it. (After a restart a topic's next post sets it again.) */
  private readonly behind = new Map<number, number>();
  /** Topic messages behind their window freed (their last queue entry went) that the sweep has
   *  not looked at yet. */
  private readonly freedRows = new Set<number>();
  /** Topics whose window became known in this process and whose rows behind it the sweep has not
   *  walked yet. */
  private readonly unwalked = new Set<number>();
  /** Rows and topics trimBehind has looked at (for tests: a sweep with nothing new looks at none). */
  looks = 0;

  constructor(private readonly db: Database) {}

  /** Inside a post's transaction: deletes offset `outOfWindow` of the topic if no mailbox holds
   *  it. After the commit, call deleted() with the rows and left() with the offset. */
  trimOnPost(topicId: number, outOfWindow: number): TrimmedRow[] {
    if (outOfWindow < 1) return [];
    return this.db.query<TrimmedRow, [number, number]>(`DELETE FROM messages WHERE topic_id = ? AND topic_offset = ? AND ${UNHELD} ${RETURNING}`).all(topicId, outOfWindow);
  }

  /** After a post's commit: offsets up to `outOfWindow` have left the topic's window. */
  left(topicId: number, outOfWindow: number): void {
    if (outOfWindow > (this.behind.get(topicId) ?? 0)) {
      if (!this.behind.has(topicId)) this.unwalked.add(topicId);
      this.behind.set(topicId, outOfWindow);
    }
  }

  /** After the commit that took its last queue entry: a topic message no mailbox holds. The
   *  sweep deletes it if it is behind its window; inside the window, the post that pushes it out
   *  does, and before the window is known in this process, the walk at its first move. */
  freed(seq: number, topic: TopicPlace): void {
    const through = this.behind.get(topic.id);
    if (through !== undefined && topic.offset <= through) this.freedRows.add(seq);
  }

  /** Whether freed rows wait for the sweep. */
  freedWaiting(): boolean {
    return this.freedRows.size > 0;
  }

  /** Inside the sweep's transaction: deletes the freed rows behind their window, and
   *  walks the rows behind the window of each unwalked topic by the (topic_id, topic_offset) index
   *  (held ones included, ~0.4 µs a row), deleting those no mailbox holds; at most `limit` rows
   *  (the rest in the next sweep). After the commit, call settled(). */
  trimBehind(limit: number): BehindTrim {
    const one = this.db.query<TrimmedRow, [number]>(`DELETE FROM messages WHERE seq = ? AND ${UNHELD} ${RETURNING}`);
    const walk = this.db.query<TrimmedRow, [number, number, number]>(
      `DELETE FROM messages WHERE seq IN (SELECT seq FROM messages WHERE topic_id = ? AND topic_offset <= ? AND ${UNHELD} LIMIT ?) ${RETURNING}`,
    );
    const out: BehindTrim = { rows: [], looked: [], walked: [] };
    for (const seq of this.freedRows) {
      if (out.looked.length >= limit) break;
      this.looks++;
      out.looked.push(seq);
      out.rows.push(...one.all(seq));
    }
    for (const topicId of this.unwalked) {
      const room = limit - out.rows.length;
      if (room <= 0) break;
      this.looks++;
      const got = walk.all(topicId, this.behind.get(topicId)!, room);
      out.rows.push(...got);
      if (got.length < room) out.walked.push(topicId);
    }
    return out;
  }

  /** After the commit of a trimBehind: its rows are deleted (and wait no more if reported freed
   *  meanwhile), what it looked at is done. */
  settled(trim: BehindTrim): void {
    this.deleted(trim.rows);
    for (const r of trim.rows) this.freedRows.delete(r.seq);
    for (const seq of trim.looked) this.freedRows.delete(seq);
    for (const t of trim.walked) this.unwalked.delete(t);
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
