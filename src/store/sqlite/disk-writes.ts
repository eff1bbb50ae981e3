// How the store's writes reach the disk, and what it does when they do not: the off-thread WAL
// flush (wal-sync.ts), background checkpoints (checkpointer.ts), fail-stop after a failed flush or
// a checkpoint's disk error, the last write's disk trouble, and a lock another process holds
// (lock-watch.ts), which readiness reports. A lock is never a failure: it passes.
import type { Database } from "bun:sqlite";
import { MeshError } from "../../protocol/errors.ts";
import type { DiskEvent, Health } from "../types.ts";
import type { CheckpointerReport } from "./checkpoint-protocol.ts";
import { Checkpointer, type CheckpointStats } from "./checkpointer.ts";
import { guard, persistentFailure } from "./db-errors.ts";
import type { LockWatch } from "./lock-watch.ts";
import { probeHealth } from "./maintenance.ts";
import type { WalSync } from "./wal-sync.ts";

/** What flushed() answers when there is nothing to wait for: one settled promise, not a new one
 *  per ask (the broker asks at least twice per message). */
const DURABLE = Promise.resolve();

export class DiskWrites {
  /** Set by the first failed flush of the WAL, or a checkpoint's disk error (see flushed). */
  private failure: MeshError | null = null;
  private readonly failed = Promise.withResolvers<Error>();
  /** Settles with the failure that stopped the store. */
  readonly fatal = this.failed.promise;
  /** The last write's failure when it was one of the disk or the file (full, I/O, read-only,
   *  corrupt), until a write succeeds again. Readiness reports it: the probe's own one-row write
   *  can still fit where real writes no longer do (a disk full except for freed WAL space). */
  private trouble: string | null = null;
  private checkpointer: Checkpointer | null = null;
  /** Writes committed so far, and how many of them a finished flush covers: a flush asked for
   *  when nothing was committed since one finished is answered at once (or with the asks still
   *  waiting before it). Pushes and hand-outs ask
   *  for one after every claim, most of them with nothing new to sync (router.ts, delivery.ts). */
  private committed = 0;
  private durable = 0;
  /** Asks for a flush not yet answered, in the order made; `through` is what each must cover. */
  private readonly waiting: { through: number; answer: PromiseWithResolvers<void> }[] = [];
  /** The most any sync asked of WalSync so far covers. */
  private syncAsked = 0;
  /** Set by close: the WAL's descriptor is closing, so no further sync can be asked of it. */
  private closed = false;

  /** Hears the disk's and the lock's events (watch). */
  private listener: (e: DiskEvent) => void = () => {};

  /** `wal`: the flusher with synchronous "full", null with "normal"; `lock`: the connection's. */
  constructor(
    private readonly wal: WalSync | null,
    private readonly lock: LockWatch,
  ) {
    if (wal) wal.onFlushed = (ms) => this.listener({ kind: "flushed", ms });
    lock.report = (e) => this.listener(e);
  }

  /** Sends the disk's and the lock's events to `listener` from now on (store/types.ts DiskEvent). */
  watch(listener: (e: DiskEvent) => void): void {
    this.listener = listener;
  }

  /** Whether answers wait for a flush of the WAL (synchronous "full"). */
  get flushes(): boolean {
    return this.wal !== null;
  }

  /** Moves checkpoints of `db` (the file at `path`) to a worker thread. A disk error it meets is
   *  a storage failure like a failed flush. */
  startCheckpointer(db: Database, path: string, onReport: (r: CheckpointerReport) => void, entry?: string): void {
    this.checkpointer = new Checkpointer(
      db,
      path,
      (r) => {
        if (r.kind === "disk") this.fail("checkpointed", new Error(r.error));
        onReport(r);
      },
      entry,
    );
  }

  checkpointStats(): CheckpointStats | null {
    return this.checkpointer?.stats() ?? null;
  }

  /** Runs a write (a committed transaction) through guard: refused once the store failed, its disk
   *  trouble recorded or cleared, the checkpointer told. Another process's lock makes it throw
   *  StoreLocked (after BUSY_TIMEOUT_MS, or at once while the lock is known to be held). The flush
   *  is the caller's (flushed). */
  run<T>(fn: () => T): T {
    this.refuseIfFailed();
    try {
      const out = guard(() => this.lock.attempt(fn));
      this.committed++;
      if (this.trouble !== null) this.listener({ kind: "recovered", trouble: this.trouble });
      this.trouble = null;
      this.checkpointer?.dirty();
      return out;
    } catch (e) {
      this.trouble = persistentFailure(e) ?? this.trouble;
      throw e;
    }
  }

  /** Resolves once everything written so far is on stable storage (at once with "normal").
   *  Answers come in the order they were asked for, including one that needs no new sync behind
   *  one that waits for a sync: pushes go out as their commit's flush is answered (router.ts), so
   *  answering a later ask first would push a later message first.
   *  Fail-stop after a failed flush: Linux may drop the dirty pages an fdatasync could not write
   *  and report the error once, so a later flush that succeeds proves nothing about them. Nothing
   *  written since the last good flush can be vouched for: every write is refused from then on,
   *  `fatal` settles, and the broker exits so that a restart reads what the disk really holds.
   *  (Not an async function, and refusals are rejected promises, not throws: the broker asks
   *  twice per message, mostly with nothing to wait for.) */
  flushed(): Promise<void> {
    if (!this.wal) return DURABLE;
    if (this.failure) return Promise.reject(this.failure);
    const through = this.committed;
    if (this.durable >= through && this.waiting.length === 0) return DURABLE;
    // An ask made after close (a request still running when the drain's time ran out) cannot get
    // a sync: it is refused as the stop it is, not taken for a failed flush, which would refuse
    // the asks still waiting for a sync that will succeed and report a disk failure that was none.
    if (this.closed && through > this.syncAsked) return Promise.reject(new MeshError("unavailable", "the broker is stopping: this write was not confirmed as flushed to disk; retry it once the broker is back (a retried send is stored once)"));
    const answer = Promise.withResolvers<void>();
    this.waiting.push({ through, answer });
    // A sync running or queued already covers `through` unless something committed since it was
    // asked for. WalSync shares one queued sync among everyone who asks while one runs.
    if (through > this.syncAsked) {
      this.syncAsked = through;
      this.wal.sync().then(
        () => this.answerWaiting(through),
        (e: unknown) => this.refuseWaiting(this.fail("flushed", e)),
      );
    }
    return answer.promise;
  }

  /** A sync covering `through` ended: answers the asks it covers, in the order they were made. */
  private answerWaiting(through: number): void {
    this.durable = Math.max(this.durable, through);
    let covered = 0;
    while (covered < this.waiting.length && this.waiting[covered]!.through <= this.durable) covered++;
    for (const w of this.waiting.splice(0, covered)) w.answer.resolve();
  }

  private refuseWaiting(failure: MeshError): void {
    for (const w of this.waiting.splice(0)) w.answer.reject(failure);
  }

  /** Probes `db` with a committed write (probeHealth), waiting for another process's lock no
   *  longer than any write does; reports the store's failure, a lock still held or the last write's
   *  disk trouble over what the probe found. Never throws. */
  health(db: Database): Health {
    const probe = probeHealth(db, (write) => this.lock.attempt(write));
    if (this.failure) return { ...probe, writable: false, error: this.failure.message };
    const since = this.lock.since;
    if (since !== null) return { ...probe, writable: false, error: `the database is locked by another process (since ${new Date(since).toISOString()}): writes wait for it, then are refused as unavailable` };
    return this.trouble ? { ...probe, writable: false, error: `the last write failed (${this.trouble})` } : probe;
  }

  /** Closes around `db`: the checkpointer's connection first (the broker's must be the last to
   *  close, so SQLite removes the WAL), the WAL flusher's descriptor after. */
  close(db: Database): void {
    this.closed = true;
    this.checkpointer?.close();
    db.close();
    this.wal?.close();
  }

  /** Enters the failed state (the first failure is the one reported), stops checkpoints, and
   *  returns the error every write gets from now on. */
  private fail(what: "flushed" | "checkpointed", cause: unknown): MeshError {
    this.failure ??= new MeshError("unavailable", `the broker's database could not be ${what} to disk; the broker is stopping`, { cause });
    this.checkpointer?.halt();
    this.failed.resolve(this.failure);
    return this.failure;
  }

  private refuseIfFailed(): void {
    if (this.failure) throw this.failure;
  }
}
