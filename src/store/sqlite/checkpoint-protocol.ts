// What the broker and its checkpointer thread share: one start message, then a few 32-bit slots
// of shared memory read and written with Atomics (no message per write: marking the database dirty
// costs the broker an atomic load), and reports from the thread when something went wrong.

/** Indexes into the shared Int32Array. */
export const Slot = {
  /** 1 when the broker committed since the thread's last checkpoint began. */
  dirty: 0,
  /** Set to 1 by the broker to stop the thread. */
  stop: 1,
  /** Set to 1 by the thread once it closed its connection. */
  done: 2,
  /** Checkpoints that copied everything they could, that another checkpoint or a reader held
   *  back (SQLite's "busy": retried with the next writes), and that failed (the thread only adds). */
  checkpoints: 3,
  busy: 4,
  failures: 5,
} as const;

export const SLOTS = 6;

export type CheckpointerStart = {
  /** The database file (opened, never created, by the thread). */
  path: string;
  /** SharedArrayBuffer of SLOTS Int32 slots. */
  state: SharedArrayBuffer;
  /** How long writes gather after the first one before a checkpoint. */
  intervalMs: number;
  busyTimeoutMs: number;
};

/** A report from the thread. `failed`: one checkpoint failed and is retried after the next writes.
 *  `stopped`: the thread cannot run (its connection did not open); it has ended. `disk`: the disk
 *  reported an I/O error (SQLITE_IOERR*); the thread has ended, and the store must fail stop as
 *  for a failed WAL flush (store.ts flushed). */
export type CheckpointerReport = { kind: "failed" | "stopped" | "disk"; error: string };
