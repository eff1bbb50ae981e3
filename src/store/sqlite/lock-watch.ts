// How long the broker's connection waits for a write lock another process holds. bun:sqlite runs
// every statement on the JavaScript thread, so SQLite's busy handler sleeps with the whole broker
// (every socket, /health, signals) until the lock is free or the timeout ends: with the 5 s that
// start-up uses, one write behind an operator's `sqlite3` shell froze everything for 5 s, and each
// new write froze it again. So the serving connection waits BUSY_TIMEOUT_MS at most, and once a
// write met a lock, not at all until a write gets through: meanwhile each attempt costs
// microseconds, and the group commit tries again later by itself (broker/group-commit.ts).
import type { Database } from "bun:sqlite";
import type { DiskEvent } from "../types.ts";
import { isLockError } from "./db-errors.ts";

/** The serving connection's busy timeout, and so the longest an outside lock stalls the broker's
 *  thread (once per lock). The other processes that write to a serving broker's database hold its
 *  lock for one small transaction (`admin token`: one row and its commit's sync, a millisecond or
 *  a few on an SSD); the checkpointer thread's PASSIVE checkpoints never take it, and `admin
 *  backup` only reads. 20 ms rides out those; a longer lock is waited for off the thread. */
export const BUSY_TIMEOUT_MS = 20;

export class LockWatch {
  private heldSince: number | null = null;
  /** Hears the first write in a row to meet the lock, and the first through after it: every
   *  write of the connection passes here (sends, hellos, sweeps, probes), so this is the one place
   *  that knows when a lock began and how long it lasted. */
  report: (e: DiskEvent & { kind: "locked" | "unlocked" }) => void = () => {};

  /** Sets `db`'s busy timeout to BUSY_TIMEOUT_MS (the serving value). */
  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
  ) {
    db.run(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  }

  /** Runs a write on the connection. One that met another connection's lock (BUSY or LOCKED,
   *  rethrown as it came) drops the busy timeout to 0; the next write that succeeds restores it. */
  attempt<T>(write: () => T): T {
    let out: T;
    try {
      out = write();
    } catch (e) {
      if (isLockError(e) && this.heldSince === null) {
        this.heldSince = this.now();
        this.db.run("PRAGMA busy_timeout = 0");
        this.report({ kind: "locked", db: this.db.filename, err: e as Error });
      }
      throw e;
    }
    if (this.heldSince !== null) {
      const lockedForMs = Math.max(0, Math.round(this.now() - this.heldSince));
      this.heldSince = null;
      this.db.run(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
      this.report({ kind: "unlocked", lockedForMs });
    }
    return out;
  }

  /** When the latest write attempt met the lock (since the first in a row to meet it), or null
   *  when the latest got through. */
  get since(): number | null {
    return this.heldSince;
  }
}
