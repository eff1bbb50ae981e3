// Power-loss durability without stalling the event loop. With `synchronous=FULL`, SQLite calls
// fsync inside COMMIT, and bun:sqlite runs COMMIT on the JavaScript thread: every group commit
// froze the broker for the length of a disk flush. Instead the connection runs WAL with
// `synchronous=NORMAL` (commits write the log without syncing it; checkpoints and WAL resets still
// sync), and the store calls WalSync.sync() after a write and before it answers: an fdatasync of
// the -wal file on libuv's thread pool. A commit whose frames were written before that fdatasync
// began is durable once it returns, exactly what FULL promises. While one flush runs, further
// commits proceed and share the next flush (group commit for the disk as well as for SQLite).
import { closeSync, fdatasync, openSync } from "node:fs";

export class WalSync {
  private readonly fd: number;
  /** The flush running now, if any. */
  private running: Promise<void> | null = null;
  /** The flush that starts when the running one ends, shared by everyone who asked meanwhile. */
  private next: Promise<void> | null = null;
  private closing = false;

  /** Opens (creating 0600 if needed) the WAL file of the database at `dbPath`. */
  constructor(dbPath: string) {
    this.fd = openSync(`${dbPath}-wal`, "a", 0o600);
  }

  /** Resolves once everything written to the WAL before this call is on stable storage. */
  sync(): Promise<void> {
    if (this.closing) return Promise.reject(new Error("the WAL file was closed"));
    if (this.running === null) return (this.running = this.flush());
    // The running flush may have started before our commit's write: wait for a fresh one.
    return (this.next ??= this.running.then(
      () => this.startNext(),
      () => this.startNext(),
    ));
  }

  /** Closes the file once no flush is running or queued: a write whose flush was asked for before
   *  the close still gets it (closing at once failed it with EBADF, or synced whatever file had
   *  reused the descriptor number). */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    if (this.running === null) closeSync(this.fd);
  }

  private startNext(): Promise<void> {
    this.next = null;
    return (this.running = this.flush());
  }

  private flush(): Promise<void> {
    return new Promise<void>((resolve, reject) =>
      fdatasync(this.fd, (err) => {
        if (this.next === null) {
          this.running = null;
          if (this.closing) closeSync(this.fd);
        }
        if (err) reject(err);
        else resolve();
      }),
    );
  }
}
