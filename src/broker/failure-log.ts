// Clients get a storage failure as `unavailable` (retryable), which is not a bug of the broker and
// so was never logged: with a full disk or a corrupt file every send failed and the log said
// nothing. The operator hears of it here, at a bounded rate (throttled-log.ts), with the cause.
import type { MeshError } from "../protocol/errors.ts";
import type { Log } from "../log/log.ts";
import { ThrottledLog } from "./throttled-log.ts";

export class FailureLog {
  private readonly line: ThrottledLog;

  constructor(log: Log, now: () => number = Date.now) {
    this.line = new ThrottledLog(log, "warn", "request failed: the database is unavailable", now);
  }

  /** Notes an error answered to a client; logs it if it has a storage cause to report. */
  note(err: MeshError, where: string): void {
    if (err.code !== "unavailable" || !(err.cause instanceof Error)) return;
    this.line.note({ where, err: err.cause, code: (err.cause as { code?: unknown }).code });
  }
}
