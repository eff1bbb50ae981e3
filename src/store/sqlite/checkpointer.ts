// Checkpoints off the event loop. In WAL mode SQLite copies committed frames back into the
// database file from time to time (a checkpoint); by default the connection that commits does it
// inside that commit, once the WAL holds 1,000 frames. That checkpoint syncs the WAL and the
// database file, so every few hundred messages one commit froze the broker's only thread for a
// few milliseconds (longer on slower disks), and everything in flight waited. Here a worker
// thread with its own connection runs PASSIVE checkpoints shortly after writes (checkpoint-worker.ts),
// which copy frames without ever blocking the writer.
//
// A checkpoint that runs beside a writer never catches up with it completely, and SQLite reuses
// the WAL from its start only once everything in it was copied. So the broker's own connection
// keeps an automatic checkpoint with a higher threshold, WAL_LIMIT_FRAMES: under sustained load
// it copies what the thread has not yet (a fraction of a second of writes) and lets the WAL start
// over, which keeps the file bounded. If the thread cannot run, the threshold goes back to
// SQLite's default and the broker checkpoints inline as before. An I/O error in a checkpoint is
// reported to the store, which fails stop as it does for a failed WAL flush.
import type { Database } from "bun:sqlite";
import { workerUrl } from "../../workers.ts";
import { SLOTS, Slot, type CheckpointerReport, type CheckpointerStart } from "./checkpoint-protocol.ts";

/** How long writes gather before the thread checkpoints them. */
export const CHECKPOINT_INTERVAL_MS = 100;
/** The broker connection's own automatic checkpoint while the thread runs (frames of the page
 *  size, 4 KiB: the WAL file stays near ~40 MiB at most; see decisions.md). */
export const WAL_LIMIT_FRAMES = 10_000;
/** A WAL file that grew past this (a long reader held it, e.g. a backup) is cut back to it when
 *  SQLite next starts the WAL over. */
const WAL_KEEP_BYTES = 64 * 1024 * 1024;
/** SQLite's default automatic checkpoint, restored if the thread fails. */
const INLINE_LIMIT_FRAMES = 1000;
/** How long close() waits for a checkpoint in progress to end. */
const CLOSE_TIMEOUT_MS = 5000;
/** The thread's connection waits this long for a lock (as the broker's own does, open.ts). */
const BUSY_TIMEOUT_MS = 5000;
/** Repeated failures of the same kind are logged at most this often (they are all counted). */
const FAILURE_LOG_INTERVAL_MS = 60_000;

const CHECKPOINT_WORKER = "store/sqlite/checkpoint-worker.ts";

export type CheckpointStats = { checkpoints: number; busy: number; failures: number; running: boolean };

export class Checkpointer {
  private readonly state = new Int32Array(new SharedArrayBuffer(SLOTS * Int32Array.BYTES_PER_ELEMENT));
  private readonly worker: Worker;
  /** False once the thread stopped or failed (after a failure SQLite checkpoints inline). */
  private running = true;
  /** The thread ended without saying so (a crash): close() has nothing to wait for. */
  private crashed = false;
  private closed = false;
  private lastFailureLogAt = -Infinity;

  /** Starts the thread on the database at `path`, which `db` (the broker's connection) has open.
   *  `onReport` hears what went wrong: failed checkpoints (at most one a minute), a thread that
   *  cannot run, a disk error. `entry` (relative to src/) is for tests. */
  constructor(
    private readonly db: Database,
    path: string,
    private readonly onReport: (report: CheckpointerReport) => void,
    entry = CHECKPOINT_WORKER,
  ) {
    this.worker = new Worker(workerUrl(entry));
    db.run(`PRAGMA wal_autocheckpoint = ${WAL_LIMIT_FRAMES}`);
    db.run(`PRAGMA journal_size_limit = ${WAL_KEEP_BYTES}`);
    this.worker.onmessage = (e: MessageEvent<CheckpointerReport>) => this.heard(e.data);
    this.worker.onerror = (e) => {
      this.crashed = true;
      this.heard({ kind: "stopped", error: e.message });
    };
    (this.worker as Worker & { unref(): void }).unref(); // Bun's Worker: the thread never keeps the process alive
    Atomics.store(this.state, Slot.dirty, 1); // whatever the WAL holds already (the migration)
    const start: CheckpointerStart = { path, state: this.state.buffer as SharedArrayBuffer, intervalMs: CHECKPOINT_INTERVAL_MS, busyTimeoutMs: BUSY_TIMEOUT_MS };
    this.worker.postMessage(start);
  }

  /** After a commit: wakes the thread unless it already knows. */
  dirty(): void {
    if (Atomics.load(this.state, Slot.dirty) === 1) return;
    Atomics.store(this.state, Slot.dirty, 1);
    Atomics.notify(this.state, Slot.dirty);
  }

  stats(): CheckpointStats {
    const at = (slot: number) => Atomics.load(this.state, slot);
    return { checkpoints: at(Slot.checkpoints), busy: at(Slot.busy), failures: at(Slot.failures), running: this.running };
  }

  /** Asks the thread to stop after the checkpoint it may be running, without waiting (the store
   *  failed: nothing may be copied any more). */
  halt(): void {
    this.running = false;
    Atomics.store(this.state, Slot.stop, 1);
    Atomics.store(this.state, Slot.dirty, 1);
    Atomics.notify(this.state, Slot.dirty);
    Atomics.notify(this.state, Slot.stop);
  }

  /** Stops the thread and waits (blocking, at most CLOSE_TIMEOUT_MS) until its connection is
   *  closed, so that the broker's connection, closed next, is the last one: SQLite then
   *  checkpoints everything and removes the WAL, as it did without the thread. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.halt();
    if (!this.crashed) Atomics.wait(this.state, Slot.done, 0, CLOSE_TIMEOUT_MS);
    void this.worker.terminate();
  }

  private heard(report: CheckpointerReport): void {
    if (this.closed) return;
    if (report.kind === "failed") {
      const now = performance.now();
      if (now - this.lastFailureLogAt < FAILURE_LOG_INTERVAL_MS) return;
      this.lastFailureLogAt = now;
    } else if (this.running) {
      this.running = false;
      // A thread that cannot run hands checkpoints back to SQLite; after a disk error the store
      // refuses every write, so nothing more will be checkpointed anyway.
      if (report.kind === "stopped") this.db.run(`PRAGMA wal_autocheckpoint = ${INLINE_LIMIT_FRAMES}`);
    }
    this.onReport(report);
  }
}
