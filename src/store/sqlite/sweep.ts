// Periodic cleanup: expired queue entries, messages nobody will read or retry, old signatures.
import type { Database } from "bun:sqlite";
import type { SweepResult } from "../types.ts";
import type { MessageKeyRow, QueueIndex } from "./queue-index.ts";
import { deleteEntries } from "./queue-repo.ts";
import { jsonList, MESSAGE_SELECT, messageFromRow, type MessageRow } from "./rows.ts";
import { writeTx } from "./transaction.ts";

export class Sweeper {
  constructor(
    private readonly db: Database,
    private readonly index: QueueIndex,
  ) {}

  /** In one transaction: deletes queue entries expired at `nowMs`; reports the non-system
   *  messages whose last entries just expired undelivered (their senders get told); deletes
   *  non-topic messages no longer queued and older than the dedup window (after it a retried
   *  clientMessageId is stored anew; topic messages stay as history, trimmed on send); deletes
   *  expired signatures. */
  sweep(nowMs: number, dedupWindowMs: number): SweepResult {
    const expired = this.index.expired(nowMs);
    // Which messages lose their last entry now, computed before anything changes.
    const emptying = new Set([...this.index.leftAfter(expired)].filter(([, n]) => n === 0).map(([seq]) => seq));
    const emptied = [...emptying].filter((seq) => !this.index.delivered(seq));
    let deleted: MessageKeyRow[] = [];
    const plan = this.index.deletionPlan(nowMs - dedupWindowMs, emptying);
    const result = writeTx(this.db, () => {
      deleteEntries(this.db, expired);
      const expiredMessages =
        emptied.length === 0
          ? []
          : this.db
              .query<MessageRow, [string]>(`${MESSAGE_SELECT} WHERE m.seq IN (SELECT value FROM json_each(?)) AND m.kind != 'system' ORDER BY m.seq`)
              .all(jsonList(emptied))
              .map(messageFromRow);
      deleted =
        plan.seqs.length === 0
          ? []
          : this.db
              .query<MessageKeyRow, [string]>(
                "DELETE FROM messages WHERE seq IN (SELECT value FROM json_each(?)) RETURNING seq, mesh_id, sender_pubkey, client_message_id",
              )
              .all(jsonList(plan.seqs));
      const seenSignatures = this.db.query("DELETE FROM seen_signatures WHERE expires_at <= ?").run(nowMs).changes;
      return { expiredRows: expired.length, expiredMessages, deletedMessages: deleted.length, seenSignatures };
    });
    this.index.remove(expired);
    this.index.afterDeletion(plan, deleted);
    return result;
  }
}
