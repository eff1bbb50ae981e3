// Periodic cleanup: expired queue entries, messages nobody will read or retry, old signatures.
import type { Database } from "bun:sqlite";
import type { ExpiryNotice, SweepOutcome, SweepResult } from "../types.ts";
import type { MessageKeyRow, QueueIndex } from "./queue-index.ts";
import { deleteEntries } from "./queue-repo.ts";
import { jsonList, MESSAGE_SELECT, messageFromRow, type MessageRow } from "./rows.ts";
import type { SendRepo } from "./send-repo.ts";
import { SignatureRepo } from "./signature-repo.ts";
import type { BehindTrim, TopicTrims } from "./topic-trims.ts";
import { writeTx } from "./transaction.ts";

/** Rows of each kind (expired queue entries, messages, topic trims, signatures) one sweep
 *  transaction deletes at most, and messages it looks at for deletion at most (those a mailbox
 *  still holds count: sweep-candidates.ts). A sweep runs on the event loop: deleting everything due at once
 *  (32,000 delivered messages every 30 s at 1,345 sends/s) stalled every connection for 0.35–1.1 s
 *  each time (the soak run, docs/benchmarks.md). A sweep that reaches the limit says so (`more`),
 *  and the broker sweeps again after letting other work in (timers.ts). */
export const SWEEP_BATCH = 1000;

export class Sweeper {
  /** The replay table lives with the sweep that forgets its rows, which must note what it forgot. */
  readonly signatures: SignatureRepo;

  constructor(
    private readonly db: Database,
    private readonly index: QueueIndex,
    private readonly sends: SendRepo,
    private readonly trims: TopicTrims,
  ) {
    this.signatures = new SignatureRepo(db);
  }

  /** In one transaction, at most `limit` rows of each kind (`more` when a kind reached it):
   *  deletes queue entries expired at `nowMs`; finds the non-system messages whose last entries
   *  just expired undelivered and stores `notice(m)` for each (their senders get told; without
   *  `notice`, for tests and tools, nothing is stored and `notices` is left out); deletes non-topic
   *  messages no longer queued and older than the dedup window (after it a retried
   *  clientMessageId is stored anew), and topic messages behind their topic's window that a
   *  mailbox held when a post pushed them out (topic-trims.ts); deletes expired signatures (noting
   *  what it forgot: signature-repo.ts) and the sealed keys of invites expired by
   *  `invitesExpiredByMs` (by default `nowMs`). A throw anywhere, a notice's included, rolls all of
   *  it back and leaves the in-memory index as it was. */
  sweep(nowMs: number, dedupWindowMs: number, notice?: ExpiryNotice, limit = SWEEP_BATCH, invitesExpiredByMs = nowMs): SweepResult | SweepOutcome {
    const expired = this.index.expired(nowMs, limit);
    // Which messages lose their last entry now, computed before anything changes.
    const emptying = new Set([...this.index.leftAfter(expired)].filter(([, n]) => n === 0).map(([seq]) => seq));
    const emptied = [...emptying].filter((seq) => !this.index.delivered(seq));
    let deleted: MessageKeyRow[] = [];
    let trimmed: BehindTrim = { rows: [], looked: [], walked: [] };
    const plan = this.index.deletionPlan(nowMs - dedupWindowMs, emptying, limit);
    const { result, notices, forgot } = writeTx(this.db, () => {
      // Before the index forgets them (after the commit): which expired entries were notices.
      const expiredNoticeRows = expired.reduce((n, e) => n + (this.index.isNotice(e.seq) ? 1 : 0), 0);
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
      trimmed = this.trims.trimBehind(limit);
      const forgot = this.signatures.stageSweep(nowMs, limit);
      const seenSignatures = forgot.out;
      // An expired invite admits nobody: its sealed mesh keys would only serve an old link's holder
      // who also got a copy of the database or a backup. Judged by a time the clock has stayed past:
      // a clock set forward by mistake and then right again must not take a live invite's keys.
      this.db.query("UPDATE invites SET keys_blob = NULL WHERE keys_blob IS NOT NULL AND expires_at <= ?").run(Math.floor(invitesExpiredByMs / 1000));
      // Notices are never topic messages: no topic history to trim.
      const notices = notice === undefined ? null : this.sends.stage(expiredMessages.map(notice), 0);
      const more = plan.full || [expired.length, trimmed.rows.length, seenSignatures].some((n) => n >= limit);
      return { result: { expiredRows: expired.length, expiredNoticeRows, expiredMessages, deletedMessages: deleted.length + trimmed.rows.length, seenSignatures, more }, notices, forgot };
    });
    forgot.apply();
    this.index.remove(expired);
    this.index.afterDeletion(plan, deleted);
    this.index.forget(trimmed.rows);
    // After the index's removals: rows freed by these expiries that this round already deleted
    // (a topic's first walk meets them) do not wait for the next.
    this.trims.settled(trimmed);
    // Topic rows behind their windows that these expiries freed (or that did not fit) are next.
    if (this.trims.freedWaiting()) result.more = true;
    if (notices === null) return result;
    notices.apply();
    return { ...result, notices: notices.out };
  }
}
