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
// SQLite's default and the broker checkpoints inline as before.
import type { Database } from "bun:sqlite";
import { workerUrl } from "../../workers.ts";
import { SLOTS, Slot, type CheckpointerReport, type CheckpointerStart } from "./checkpoint-protocol.ts";

/** How long writes gather before the thread checkpoints them. */
export const CHECKPOINT_INTERVAL_MS = 100;
/** The broker connection's own automatic checkpoint while the thread runs (frames of the page
 *  size, 4 KiB: the WAL file stays under ~40 MiB). */
export const WAL_LIMIT_FRAMES = 10_000;
/** SQLite's default automatic checkpoint, restored if the thread fails. */
const INLINE_LIMIT_FRAMES = 1000;
/** How long close() waits for a checkpoint in progress to end. */
const CLOSE_TIMEOUT_MS = 5000;
/** The thread's connection waits this long for a lock (as the broker's own does, open.ts). */
const BUSY_TIMEOUT_MS = 5000;

export type CheckpointStats = { checkpoints: number; failures: number; running: boolean };

export class Checkpointer {
  private readonly state = new Int32Array(new SharedArrayBuffer(SLOTS * Int32Array.BYTES_PER_ELEMENT));
  private readonly worker: Worker;
  /** False once the thread stopped (close) or failed for good (then SQLite checkpoints inline). */
  private running = true;
  private closed = false;

  /** Starts the thread on the database at `path`, which `db` (the broker's connection) has open.
   *  `onError` hears of failed checkpoints; the broker logs them. */
  constructor(
    private readonly db: Database,
    path: string,
    private readonly onError: (message: string, fatal: boolean) => void,
  ) {
    this.worker = new Worker(workerUrl("store/sqlite/checkpoint-worker.ts"));
    db.run(`PRAGMA wal_autocheckpoint = ${WAL_LIMIT_FRAMES}`);
    this.worker.onmessage = (e: MessageEvent<CheckpointerReport>) => {
      if (e.data.fatal) this.fallBack();
      this.onError(e.data.error, e.data.fatal === true);
    };
    this.worker.onerror = (e) => {
      this.fallBack();
      this.onError(e.message, true);
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
    return { checkpoints: Atomics.load(this.state, Slot.checkpoints), failures: Atomics.load(this.state, Slot.failures), running: this.running };
  }

  /** Stops the thread and waits (blocking, at most CLOSE_TIMEOUT_MS) until its connection is
   *  closed, so that the broker's connection, closed next, is the last one: SQLite then
   *  checkpoints everything and removes the WAL, as it did without the thread. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.running = false;
    Atomics.store(this.state, Slot.stop, 1);
    Atomics.store(this.state, Slot.dirty, 1);
    Atomics.notify(this.state, Slot.dirty);
    Atomics.notify(this.state, Slot.stop);
    Atomics.wait(this.state, Slot.done, 0, CLOSE_TIMEOUT_MS);
    void this.worker.terminate();
  }

  private fallBack(): void {
    if (!this.running || this.closed) return;
    this.running = false;
    this.db.run(`PRAGMA wal_autocheckpoint = ${INLINE_LIMIT_FRAMES}`);
  }
}
