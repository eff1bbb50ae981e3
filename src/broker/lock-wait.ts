// How the group commit waits for a write lock another process holds (an operator's `sqlite3`
// shell, a maintenance command): the batch stays where it is, in order, unacknowledged, and is
// tried again after a short, growing delay, each try costing the broker's thread microseconds
// (store/sqlite/lock-watch.ts); past LOCK_WAIT_MS its writes are refused as `unavailable`, which
// clients send again. The operator hears of it in the log, without a line per try.
import type { Log } from "../log/log.ts";
import { ThrottledLog } from "./throttled-log.ts";

/** Longest a write waits in the group commit for another process's lock, from its arrival, before
 *  it is refused with `unavailable`. Far longer than the lock of any maintenance command (ms); short
 *  enough that a sender hears a definite answer well within a client's request timeout (15 s)
 *  rather than a `timeout`, that a SIGTERM's drain (10 s by default) ends, and that what waits in
 *  memory stays bounded by a few seconds of sends. */
export const LOCK_WAIT_MS = 5_000;
/** First delay before trying a locked batch again; it doubles with each try, up to LOCK_RETRY_MAX_MS. */
const LOCK_RETRY_FIRST_MS = 10;
/** Largest delay between tries: a released lock is noticed within this much. */
const LOCK_RETRY_MAX_MS = 200;
export class LockWait {
  /** A batch met the lock and none has committed since. */
  private locked = false;
  private readonly warning: ThrottledLog;

  constructor(
    private readonly log: Log,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.warning = new ThrottledLog(log, "warn", "the database is locked by another process; sends wait for it, then are refused as unavailable", now);
  }

  /** A batch whose oldest write arrived at `arrivedAt` met the lock on try number `tries` (from 0).
   *  Returns the ms to wait before the next try, or null when the batch has waited LOCK_WAIT_MS:
   *  refuse it. Logs the first meeting (rate-limited) with the store's error `err`. */
  met(arrivedAt: number, tries: number, err: Error): number | null {
    const now = this.now();
    if (tries === 0) this.warning.note({ waitMs: LOCK_WAIT_MS, err: err.cause ?? err });
    this.locked = true;
    const left = arrivedAt + LOCK_WAIT_MS - now;
    if (left <= 0) return null;
    return Math.min(LOCK_RETRY_FIRST_MS * 2 ** Math.min(tries, 16), LOCK_RETRY_MAX_MS, left);
  }

  /** A batch whose oldest write arrived at `arrivedAt` committed. The first after a lock says so. */
  committed(arrivedAt: number): void {
    if (!this.locked) return;
    this.locked = false;
    this.log.info("the database lock was released; writes go through again", { waitedMs: Math.round(this.now() - arrivedAt) });
  }
}
