// Holds the store's WAL flushes (synchronous "full"): each real fdatasync runs, but what waits on it
// is released only by release(). A request that waits for the disk then holds its connection's
// line, and a write can be seen committed but not yet flushed.
import { WalSync } from "../../src/store/sqlite/wal-sync.ts";

export function holdSyncs() {
  const real = WalSync.prototype.sync;
  const synced: Promise<void>[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  WalSync.prototype.sync = function (this: WalSync) {
    const p = real.call(this);
    synced.push(p);
    return p.then(() => gate);
  };
  return {
    /** WalSync.sync() calls so far. */
    calls: () => synced.length,
    /** Resolves once every real fdatasync asked for so far has returned. */
    synced: () => Promise.all(synced),
    release,
    [Symbol.dispose]: () => {
      WalSync.prototype.sync = real;
      release();
    },
  };
}
