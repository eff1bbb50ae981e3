// Periodic cleanup: expired queue rows, messages nobody will read or retry, old signatures.
import type { Database } from "bun:sqlite";
import type { SweepResult } from "../types.ts";
import { DepthDelta, type QueueDepth } from "./queue-depth.ts";
import { jsonList, MESSAGE_SELECT, messageFromRow, type MessageRow } from "./rows.ts";
import { writeTx } from "./transaction.ts";

export class Sweeper {
  constructor(
    private readonly db: Database,
    private readonly depth: QueueDepth,
  ) {}

  /** In one transaction: deletes queue rows expired at `nowMs`; reports the non-system messages
   *  whose last rows just expired undelivered (their senders get told); deletes direct messages
   *  no longer queued and older than the dedup window (after it a retried clientMessageId is
   *  stored anew; topic messages stay as history, trimmed on send); deletes expired signatures. */
  sweep(nowMs: number, dedupWindowMs: number): SweepResult {
    const delta = new DepthDelta();
    const result = writeTx(this.db, () => {
      const expired = this.db
        .query<{ mesh_id: string; recipient: string; message_seq: number }, [number]>(
          "DELETE FROM queue WHERE expires_at <= ? RETURNING mesh_id, recipient, message_seq",
        )
        .all(nowMs);
      for (const r of expired) delta.add(r.mesh_id, r.recipient, -1);
      const touched = [...new Set(expired.map((r) => r.message_seq))];
      const expiredMessages =
        touched.length === 0
          ? []
          : this.db
              .query<MessageRow, [string]>(
                `${MESSAGE_SELECT} WHERE m.seq IN (SELECT value FROM json_each(?)) AND m.delivered_at IS NULL AND m.kind != 'system'
                   AND NOT EXISTS (SELECT 1 FROM queue q WHERE q.message_seq = m.seq) ORDER BY m.seq`,
              )
              .all(jsonList(touched))
              .map(messageFromRow);
      const deletedMessages = this.db
        .query(
          `DELETE FROM messages WHERE created_at < ? AND topic_id IS NULL
             AND NOT EXISTS (SELECT 1 FROM queue q WHERE q.message_seq = messages.seq)`,
        )
        .run(nowMs - dedupWindowMs).changes;
      const seenSignatures = this.db.query("DELETE FROM seen_signatures WHERE expires_at <= ?").run(nowMs).changes;
      return { expiredRows: expired.length, expiredMessages, deletedMessages, seenSignatures };
    });
    this.depth.apply(delta);
    return result;
  }
}
