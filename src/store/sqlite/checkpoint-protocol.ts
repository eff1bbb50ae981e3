// What the broker and its checkpointer thread share: one start message, then a few 32-bit slots
// of shared memory read and written with Atomics (no message per write: marking the database dirty
// costs the broker an atomic load).

/** Indexes into the shared Int32Array. */
export const Slot = {
  /** 1 when the broker committed since the thread's last checkpoint began. */
  dirty: 0,
  /** Set to 1 by the broker to stop the thread. */
  stop: 1,
  /** Set to 1 by the thread once it closed its connection. */
  done: 2,
  /** Checkpoints completed and failed (the thread only adds). */
  checkpoints: 3,
  failures: 4,
} as const;

export const SLOTS = 5;

export type CheckpointerStart = {
  /** The database file (opened, never created, by the thread). */
  path: string;
  /** SharedArrayBuffer of SLOTS Int32 slots. */
  state: SharedArrayBuffer;
  /** How long writes gather after the first one before a checkpoint. */
  intervalMs: number;
  busyTimeoutMs: number;
};

/** A message from the thread: a failed checkpoint, or (`fatal`) a thread that cannot run at all. */
export type CheckpointerReport = { error: string; fatal?: boolean };
