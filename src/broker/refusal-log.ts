// Refused handshakes in the log (operations.md "Logs"). Anyone can open sockets and send a junk
// hello: one info line per refusal let a client with no key write 37,000 lines (5 MB) in 10 s.
// Each reason now has a ThrottledLog: its first line, then at most one per LOG_EVERY_MS, with the
// count not logged since; the metric still counts every refusal. The refusals only a hello signed
// by a member key reaches (that member was removed, its hello was replayed, its mesh or its
// sessions are full) name the member an operator looks for, and one member's retries must not
// hide another's: those are throttled per member and reason instead.
import type { Log } from "../log/log.ts";
import { ThrottledLog } from "./throttled-log.ts";

/** Reasons that come after the hello's signature verified with a member key of its mesh (current
 *  or removed): their lines are throttled per member. A verified key that is not a member
 *  (`unauthorized`) is anyone's: a new key costs nothing, so such reasons stay per reason. */
export const MEMBER_REASONS: ReadonlySet<string> = new Set(["revoked", "replayed", "capacity"]);

/** Members with a throttle of their own at most. Past it, throttles idle for LOG_EVERY_MS are
 *  dropped (the few refusals they had not yet counted in a line go uncounted); if every one is
 *  busy, the refusal is logged through its reason's throttle. */
export const MAX_MEMBER_LOGS = 1024;

export class RefusalLog {
  private readonly byReason = new Map<string, ThrottledLog>();
  private readonly byMember = new Map<string, ThrottledLog>();

  /** `now`: the broker's clock (ctx.now), as for ThrottledLog. */
  constructor(
    private readonly log: Log,
    private readonly now: () => number,
  ) {}

  /** Logs a refused handshake (`fields`, with notLoggedSinceLast) unless its throttle holds it
   *  back. `member`: the mesh id and member key the hello was signed for (a session hello's parent
   *  key), or undefined when no hello was read. */
  note(reason: string, member: string | undefined, fields: Record<string, unknown>): void {
    const own = member !== undefined && MEMBER_REASONS.has(reason) ? this.memberLog(`${reason} ${member}`) : null;
    (own ?? this.reasonLog(reason)).note(fields);
  }

  private reasonLog(reason: string): ThrottledLog {
    let log = this.byReason.get(reason); // error codes: a closed set
    if (!log) this.byReason.set(reason, (log = this.throttled()));
    return log;
  }

  private memberLog(key: string): ThrottledLog | null {
    const log = this.byMember.get(key);
    if (log) return log;
    if (this.byMember.size >= MAX_MEMBER_LOGS) {
      for (const [k, l] of this.byMember) if (l.idle()) this.byMember.delete(k);
      if (this.byMember.size >= MAX_MEMBER_LOGS) return null;
    }
    const made = this.throttled();
    this.byMember.set(key, made);
    return made;
  }

  private throttled(): ThrottledLog {
    return new ThrottledLog(this.log, "info", "connection rejected", this.now);
  }
}
