// The background checkpointer's thread (see checkpointer.ts). It owns a second connection to the
// broker's database and copies committed WAL frames into the database file with PASSIVE
// checkpoints, which never block the broker's writes. It sleeps on shared memory until the broker
// marks the database dirty, lets writes gather for `intervalMs`, checkpoints, and sleeps again; an
// idle broker costs it nothing.
import { Database } from "bun:sqlite";
import { Slot, type CheckpointerReport, type CheckpointerStart } from "./checkpoint-protocol.ts";

declare const self: Worker;

const start = await new Promise<CheckpointerStart>((resolve) => (self.onmessage = (e: MessageEvent<CheckpointerStart>) => resolve(e.data)));
const state = new Int32Array(start.state);
const stopping = () => Atomics.load(state, Slot.stop) === 1;
const report = (r: CheckpointerReport) => postMessage(r);

function run(db: Database): void {
  const checkpoint = db.query<{ busy: number }, []>("PRAGMA wal_checkpoint(PASSIVE)");
  // `stop` is checked before every wait: close() sets it before it marks the database dirty, so a
  // dirty flag this loop clears below can never hide a stop.
  while (!stopping()) {
    Atomics.wait(state, Slot.dirty, 0); // until the broker wrote something (or stops)
    if (stopping()) return;
    Atomics.wait(state, Slot.stop, 0, start.intervalMs); // gather writes; wakes early to stop
    if (stopping()) return;
    Atomics.store(state, Slot.dirty, 0);
    try {
      Atomics.add(state, checkpoint.get()!.busy ? Slot.busy : Slot.checkpoints, 1);
    } catch (err) {
      Atomics.add(state, Slot.failures, 1);
      const code = String((err as { code?: unknown }).code ?? "");
      // An I/O error may have cost pages the kernel will not write again: never checkpoint on.
      if (code.startsWith("SQLITE_IOERR")) return report({ kind: "disk", error: `${code}: ${(err as Error).message}` });
      report({ kind: "failed", error: (err as Error).message });
    }
  }
}

try {
  // Never creates the file: the broker opened and migrated it before starting this thread.
  const db = new Database(start.path, { create: false, readwrite: true });
  try {
    db.run(`PRAGMA busy_timeout = ${start.busyTimeoutMs}`);
    // As a checkpoint on the broker's connection would: the WAL is synced before pages are copied,
    // and the database file before the copy counts as done (so before the WAL can be reused).
    db.run("PRAGMA synchronous = NORMAL");
    run(db);
  } finally {
    db.close();
  }
} catch (err) {
  report({ kind: "stopped", error: (err as Error).message });
} finally {
  Atomics.store(state, Slot.done, 1);
  Atomics.notify(state, Slot.done);
}
