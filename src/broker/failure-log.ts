// Clients get a storage failure as `unavailable` (retryable), which is not a bug of the broker and
// so was never logged: with a full disk or a corrupt file every send failed and the log said
// nothing. The operator hears of it here: one warning per LOG_EVERY_MS at most, with the cause,
// and how many more there were meanwhile.
import type { MeshError } from "../protocol/errors.ts";
import type { Log } from "../log/log.ts";

const LOG_EVERY_MS = 10_000;

export class FailureLog {
  private lastAt = Number.NEGATIVE_INFINITY;
  private suppressed = 0;

  constructor(
    private readonly log: Log,
    private readonly now: () => number = Date.now,
  ) {}

  /** Notes an error answered to a client; logs it if it has a storage cause to report. */
  note(err: MeshError, where: string): void {
    if (err.code !== "unavailable" || !(err.cause instanceof Error)) return;
    const now = this.now();
    if (now - this.lastAt < LOG_EVERY_MS) {
      this.suppressed++;
      return;
    }
    this.log.warn("request failed: the database is unavailable", { where, err: err.cause, code: (err.cause as { code?: unknown }).code, alsoFailedSinceLast: this.suppressed });
    this.lastAt = now;
    this.suppressed = 0;
  }
}
