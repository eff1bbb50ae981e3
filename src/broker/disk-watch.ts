// What the operator hears of the database's disk and lock as they happen (the store's DiskEvents,
// store/types.ts). Review found a disk whose fdatasync took 400 ms invisible: sends went from 3 ms
// to 712 ms with nothing logged and readiness at 200; a lock held 14 s reported as `waitedMs: 5000`
// (one batch's wait), with no path or fix, and hellos and the sweep that met it logged as generic
// failures or bugs; and a full disk that cleared said nothing. Every write passes the store's
// LockWatch, so a lock is heard here once, whatever met it first.
import type { Log } from "../log/log.ts";
import { findLockHolder } from "../store/sqlite/disk-faults.ts";
import type { DiskEvent, Store } from "../store/types.ts";
import { LOCK_WAIT_MS } from "./lock-wait.ts";
import { ThrottledLog } from "./throttled-log.ts";

/** A WAL flush slower than this is logged: a healthy disk flushes in well under 10 ms, and every
 *  answer about a write waits for its flush. */
export const SLOW_FLUSH_MS = 1_000;

export class DiskWatch {
  private readonly slowFlush: ThrottledLog;
  private readonly locked: ThrottledLog;
  /** Throttled too: on a disk nearly full, writes can fail and pass by turns. */
  private readonly recovered: ThrottledLog;

  /** `flushSeconds`: the broker_wal_flush_seconds histogram; `dataDir`: the broker's. */
  constructor(
    private readonly log: Log,
    private readonly flushSeconds: { observe(seconds: number): void },
    private readonly dataDir: string,
    now: () => number = () => performance.now(),
  ) {
    this.slowFlush = new ThrottledLog(log, "warn", `flushing the database to disk took over ${SLOW_FLUSH_MS / 1000} s; every send and ack waits for its flush`, now);
    this.locked = new ThrottledLog(log, "warn", "the database is locked by another process; writes wait for it, then are refused as unavailable", now);
    this.recovered = new ThrottledLog(log, "info", "the database took a write again after disk trouble; writes go through again", now);
  }

  /** Hears `store`'s events from now on (a store without them: nothing to hear). */
  static start(store: Store, ...args: ConstructorParameters<typeof DiskWatch>): DiskWatch {
    const watch = new DiskWatch(...args);
    store.watchDisk?.((e) => watch.hear(e));
    return watch;
  }

  hear(e: DiskEvent): void {
    switch (e.kind) {
      case "flushed":
        this.flushSeconds.observe(e.ms / 1000);
        if (e.ms > SLOW_FLUSH_MS) this.slowFlush.note({ flushMs: Math.round(e.ms), dataDir: this.dataDir, fix: `the disk holding ${this.dataDir} is slow or overloaded: check it (iostat -x 1, dmesg) or move the data directory to a faster disk` });
        return;
      case "locked":
        this.locked.note({ db: e.db, sendsWaitMs: LOCK_WAIT_MS, fix: findLockHolder(e.db), err: e.err });
        return;
      case "unlocked":
        this.log.info("the database lock was released; writes go through again", { lockedForMs: e.lockedForMs });
        return;
      case "recovered":
        this.recovered.note({ dataDir: this.dataDir, after: e.trouble });
    }
  }
}
