// The rows of sessions long over (docs/operations.md, "Old session rows"). Nothing else deletes a
// session's row: without this, every Claude Code session ever started stayed in `sessions`.
import type { Database } from "bun:sqlite";
import type { SessionPrunePlace } from "../types.ts";
import type { QueueIndex } from "./queue-index.ts";
import { writeTx } from "./transaction.ts";

/** Rows of each kind (ended, unseen) one prune transaction looks at, and so deletes, at most.
 *  Smaller than the sweep's batch: a row goes with its four index entries (primary key, member,
 *  live, age), and 1,000 of them took 60–145 ms here, all of it on the event loop. */
export const PRUNE_BATCH = 250;

type Row = { id: number; mesh_id: string; pubkey: string; t: number; seen: number };
const BEFORE_ALL = Number.MIN_SAFE_INTEGER;

/** In one transaction, looks at the next `limit` rows (after `from`, oldest first) of each kind of
 *  session that is long over, and deletes those whose mailbox holds nothing:
 *  - ended at least `messageTtlMs` before `nowMs`: until then a message the session sent may wait
 *    in a reader's mailbox, and its reader can still block its key (grant_set takes only a key a
 *    member or session row holds);
 *  - never ended and unseen for twice that: it stopped being a recipient `messageTtlMs` after it
 *    was last seen (the roster's horizon), and is then kept as long as an ended one.
 *  A row whose mailbox holds entries stays whatever its age (an expiry notice of what the session
 *  sent reaches it after its end): a member's removal finds its sessions' mailboxes through these
 *  rows. It is looked at again by the next pass, and the pass goes on past it, so kept rows never
 *  hold up the rows behind them. `next`: where the pass goes on (pass it back), null once both
 *  kinds are done. A connected session is never such a row: its last-seen time is stored every half
 *  TTL (broker/timers.ts), and it has not ended. */
export function pruneSessions(db: Database, index: QueueIndex, nowMs: number, messageTtlMs: number, from: SessionPrunePlace | null, limit = PRUNE_BATCH): { deleted: number; next: SessionPrunePlace | null } {
  const at = from ?? { ended: null, unseen: null };
  return writeTx(db, () => {
    /** One kind's rows due from its place on, or none once that kind is done. */
    const due = (place: number[] | "done" | null, sql: string, cutoff: number, start: number[]): Row[] =>
      place === "done" ? [] : db.query<Row, number[]>(`${sql} LIMIT ?`).all(cutoff, ...(place ?? start), limit);
    const ended = due(
      at.ended,
      `SELECT rowid AS id, mesh_id, pubkey, ended_at AS t, last_seen_at AS seen FROM sessions
       WHERE ended_at IS NOT NULL AND ended_at <= ? AND (ended_at, last_seen_at, rowid) > (?, ?, ?)
       ORDER BY ended_at, last_seen_at, rowid`,
      nowMs - messageTtlMs,
      [BEFORE_ALL, BEFORE_ALL, BEFORE_ALL],
    );
    const unseen = due(
      at.unseen,
      `SELECT rowid AS id, mesh_id, pubkey, last_seen_at AS t, last_seen_at AS seen FROM sessions
       WHERE ended_at IS NULL AND last_seen_at <= ? AND (last_seen_at, rowid) > (?, ?)
       ORDER BY last_seen_at, rowid`,
      nowMs - 2 * messageTtlMs,
      [BEFORE_ALL, BEFORE_ALL],
    );
    const gone = [...ended, ...unseen].filter((r) => index.depth(r.mesh_id, r.pubkey) === 0);
    const del = db.query("DELETE FROM sessions WHERE rowid = ?");
    for (const r of gone) del.run(r.id);
    const last = (rows: Row[], pos: (r: Row) => number[]): number[] | "done" => (rows.length < limit ? "done" : pos(rows[rows.length - 1]!));
    const next: SessionPrunePlace = {
      ended: at.ended === "done" ? "done" : last(ended, (r) => [r.t, r.seen, r.id]),
      unseen: at.unseen === "done" ? "done" : last(unseen, (r) => [r.t, r.id]),
    };
    return { deleted: gone.length, next: next.ended === "done" && next.unseen === "done" ? null : next };
  });
}
