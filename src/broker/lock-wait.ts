// How the group commit waits for a write lock another process holds (an operator's `sqlite3`
// shell, a maintenance command): the batch stays where it is, in order, unacknowledged, and is
// tried again after a short, growing delay, each try costing the broker's thread microseconds
// (store/sqlite/lock-watch.ts); past LOCK_WAIT_MS its writes are refused as `unavailable`, which
// clients send again. The operator hears of the lock from disk-watch.ts, which hears every write
// that meets it (hellos and sweeps too), not from here.

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
  constructor(private readonly now: () => number = () => performance.now()) {}

  /** A batch whose oldest write arrived at `arrivedAt` met the lock on try number `tries` (from 0).
   *  Returns the ms to wait before the next try, or null when the batch has waited LOCK_WAIT_MS:
   *  refuse it. */
  met(arrivedAt: number, tries: number): number | null {
    const left = arrivedAt + LOCK_WAIT_MS - this.now();
    if (left <= 0) return null;
    return Math.min(LOCK_RETRY_FIRST_MS * 2 ** Math.min(tries, 16), LOCK_RETRY_MAX_MS, left);
  }
}
