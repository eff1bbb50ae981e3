// The background checkpointer's thread (see checkpointer.ts). It owns a second connection to the
// broker's database and copies committed WAL frames into the database file with PASSIVE
// checkpoints, which never block the broker's writes. It sleeps on shared memory until the broker
// marks the database dirty, lets writes gather for `intervalMs`, checkpoints, and sleeps again; an
// idle broker costs it nothing.
import { Database } from "bun:sqlite";
import { Slot, type CheckpointerStart } from "./checkpoint-protocol.ts";

declare const self: Worker;

const start = await new Promise<CheckpointerStart>((resolve) => (self.onmessage = (e: MessageEvent<CheckpointerStart>) => resolve(e.data)));
const state = new Int32Array(start.state);
const stopping = () => Atomics.load(state, Slot.stop) === 1;

function run(db: Database): void {
  const checkpoint = db.query("PRAGMA wal_checkpoint(PASSIVE)");
  for (;;) {
    Atomics.wait(state, Slot.dirty, 0); // until the broker wrote something (or stops)
    if (stopping()) return;
    Atomics.wait(state, Slot.stop, 0, start.intervalMs); // gather writes; wakes early to stop
    if (stopping()) return;
    Atomics.store(state, Slot.dirty, 0);
    try {
      checkpoint.run();
      Atomics.add(state, Slot.checkpoints, 1);
    } catch (err) {
      Atomics.add(state, Slot.failures, 1);
      postMessage({ error: (err as Error).message });
    }
  }
}

try {
  // Never creates the file: the broker opened and migrated it before starting this thread.
  const db = new Database(start.path, { create: false, readwrite: true });
  try {
    db.run(`PRAGMA busy_timeout = ${start.busyTimeoutMs}`);
    // The checkpoint syncs the WAL before copying and the database file after (what NORMAL and
    // FULL both do for a checkpoint), so frames are durable in the file before the WAL is reused.
    db.run("PRAGMA synchronous = NORMAL");
    run(db);
  } finally {
    db.close();
  }
} catch (err) {
  postMessage({ error: (err as Error).message, fatal: true });
} finally {
  Atomics.store(state, Slot.done, 1);
  Atomics.notify(state, Slot.done);
}
