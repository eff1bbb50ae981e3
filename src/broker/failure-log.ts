// Clients get a storage failure as `unavailable` (retryable), which is not a bug of the broker and
// so was never logged: with a full disk or a corrupt file every send failed and the log said
// nothing. The operator hears of it here, at a bounded rate (throttled-log.ts), with the cause,
// the data directory and, for a disk fault, what to do (the words a refused start uses). A lock
// another process holds is not logged here: disk-watch.ts says so once, whatever met it.
import type { MeshError } from "../protocol/errors.ts";
import type { Log } from "../log/log.ts";
import { StoreLocked } from "../store/errors.ts";
import { diskFault, diskFix, diskSaid } from "../store/sqlite/disk-faults.ts";
import { ThrottledLog } from "./throttled-log.ts";

export class FailureLog {
  private readonly line: ThrottledLog;

  /** `dataDir`: the broker's, named in each line. */
  constructor(
    log: Log,
    private readonly dataDir: string,
    now: () => number = Date.now,
  ) {
    this.line = new ThrottledLog(log, "warn", "request failed: the database is unavailable", now);
  }

  /** Notes an error answered to a client; logs it if it has a storage cause to report. */
  note(err: MeshError, where: string): void {
    if (err.code !== "unavailable" || !(err.cause instanceof Error) || err instanceof StoreLocked) return;
    const fault = diskFault(err.cause, this.dataDir);
    const fix = fault && `${diskSaid(fault, this.dataDir)}: ${diskFix(fault, "writes go through again by themselves (no restart needed)")}`;
    this.line.note({ where, err: err.cause, code: (err.cause as { code?: unknown }).code, dataDir: this.dataDir, ...(fix ? { fix } : {}) });
  }
}
