// Power-loss durability without stalling the event loop. With `synchronous=FULL`, SQLite calls
// fsync inside COMMIT, and bun:sqlite runs COMMIT on the JavaScript thread: every group commit
// froze the broker for the length of a disk flush. Instead the connection runs WAL with
// `synchronous=NORMAL` (commits write the log without syncing it; checkpoints and WAL resets still
// sync), and the store calls WalSync.sync() after a write and before it answers: an fdatasync of
// the -wal file on libuv's thread pool. A commit whose frames were written before that fdatasync
// began is durable once it returns, exactly what FULL promises. While one flush runs, further
// commits proceed and share the next flush (group commit for the disk as well as for SQLite).
//
// A failed flush is final. Linux may drop the dirty pages an fdatasync could not write and report
// the error only once, so a later flush that succeeds says nothing about them: every flush asked
// for after a failure, including one queued while the failing flush ran, fails with it.
import { closeSync, fdatasync, openSync, realpathSync } from "node:fs";

export class WalSync {
  /** The WAL file flushed: beside the database file SQLite opened (its links resolved). */
  readonly file: string;
  private readonly fd: number;
  /** The flush running now, if any. */
  private running: Promise<void> | null = null;
  /** The flush that starts when the running one ends, shared by everyone who asked meanwhile. */
  private next: Promise<void> | null = null;
  private closing = false;
  /** The first flush error; once set, nothing is flushed again. */
  private failure: Error | null = null;
  /** Hears how long each fdatasync took (ms, failed or not): a slow disk shows here first. */
  onFlushed: (ms: number) => void = () => {};

  /** Opens (creating 0600 if needed) the WAL file of the database at `dbPath`. Where `dbPath` is
   *  a symbolic link, that is the -wal beside the file it points to, where SQLite keeps it (one
   *  beside the link was never written, so flushing it made nothing durable). `datasync` is
   *  fs.fdatasync (a test passes one that fails). */
  constructor(
    dbPath: string,
    private readonly datasync: typeof fdatasync = fdatasync,
  ) {
    this.file = `${realPath(dbPath)}-wal`;
    this.fd = openSync(this.file, "a", 0o600);
  }

  /** Resolves once everything written to the WAL before this call is on stable storage. */
  sync(): Promise<void> {
    if (this.closing) return Promise.reject(new Error("the WAL file was closed"));
    if (this.failure) return Promise.reject(this.failure);
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
    if (this.failure) {
      this.idle();
      return Promise.reject(this.failure);
    }
    return (this.running = this.flush());
  }

  private flush(): Promise<void> {
    const startedAt = performance.now();
    return new Promise<void>((resolve, reject) =>
      this.datasync(this.fd, (err) => {
        this.onFlushed(performance.now() - startedAt);
        if (err) this.failure ??= err;
        if (this.next === null) this.idle();
        if (err) reject(err);
        else resolve();
      }),
    );
  }

  /** No flush running or queued: the file may close now. */
  private idle(): void {
    this.running = null;
    if (this.closing) closeSync(this.fd);
  }
}

/** `path` with its links resolved, as SQLite names the database it opened; `path` itself when it
 *  does not exist (nothing to resolve). */
function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return path;
    throw err;
  }
}
