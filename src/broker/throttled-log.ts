// A line for an event that can recur without bound (refused logins, refused connections, storage
// failures answered to every client): the first is logged, then at most one per LOG_EVERY_MS,
// each saying how many were not logged since the last. A flood from one client cannot fill the
// operator's disk or hide everything else in the log, and the operator still hears of it.
import type { Level, Log } from "../log/log.ts";

export const LOG_EVERY_MS = 10_000;

export class ThrottledLog {
  private lastAt = Number.NEGATIVE_INFINITY;
  private suppressed = 0;

  /** `now`: milliseconds, on the caller's clock: the monotonic one, or the broker's wall clock
   *  (ctx.now) where tests move the window by moving that clock; hence the step guard in note(). */
  constructor(
    private readonly log: Log,
    private readonly level: Level,
    private readonly msg: string,
    private readonly now: () => number,
  ) {}

  /** Logs `fields` (with `notLoggedSinceLast`) unless a line went out less than LOG_EVERY_MS ago.
   *  A clock that went back (the wall clock stepped) logs at once: waiting for it to catch up
   *  would hide every line for as long as the step. */
  note(fields: Record<string, unknown>): void {
    const now = this.now();
    if (!this.dueAt(now)) {
      this.suppressed++;
      return;
    }
    this.log[this.level](this.msg, { ...fields, notLoggedSinceLast: this.suppressed });
    this.lastAt = now;
    this.suppressed = 0;
  }

  /** Whether the next note() is logged: no line went out within LOG_EVERY_MS. */
  idle(): boolean {
    return this.dueAt(this.now());
  }

  private dueAt(now: number): boolean {
    return !(now >= this.lastAt && now - this.lastAt < LOG_EVERY_MS);
  }
}

/** A ThrottledLog per key, for events one client can cause at will but that an operator must see
 *  per mesh, member or connection (so one's flood does not hide another's). At most `max` keys:
 *  past it, keys idle for LOG_EVERY_MS are dropped (the few events they had not yet counted go
 *  uncounted), and if every one is busy get() returns null: the caller logs through a coarser key. */
export class KeyedThrottledLogs {
  private readonly logs = new Map<string, ThrottledLog>();

  constructor(
    private readonly log: Log,
    private readonly level: Level,
    private readonly now: () => number,
    private readonly max = Number.POSITIVE_INFINITY,
  ) {}

  /** The throttle of `key`, whose lines say `msg` (fixed by the key's first call). */
  get(key: string, msg: string): ThrottledLog | null {
    const found = this.logs.get(key);
    if (found) return found;
    if (this.logs.size >= this.max) {
      for (const [k, l] of this.logs) if (l.idle()) this.logs.delete(k);
      if (this.logs.size >= this.max) return null;
    }
    const made = new ThrottledLog(this.log, this.level, msg, this.now);
    this.logs.set(key, made);
    return made;
  }
}
