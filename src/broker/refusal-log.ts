// Refused handshakes in the log (operations.md "Logs"). Anyone can open sockets and send a junk
// hello: one info line per refusal let a client with no key write 37,000 lines (5 MB) in 10 s.
// Each reason now has a ThrottledLog: its first line, then at most one per LOG_EVERY_MS, with the
// count not logged since; the metric still counts every refusal. The refusals only a hello signed
// by a member key reaches (that member was removed, its hello was replayed, its mesh or its
// sessions are full) name the member an operator looks for, and one member's retries must not
// hide another's: those are throttled per member and reason instead.
import type { Log } from "../log/log.ts";
import { KeyedThrottledLogs } from "./throttled-log.ts";

/** Reasons that come after the hello's signature verified with a member key of its mesh (current
 *  or removed): their lines are throttled per member. A verified key that is not a member
 *  (`unauthorized`) is anyone's: a new key costs nothing, so such reasons stay per reason. */
export const MEMBER_REASONS: ReadonlySet<string> = new Set(["revoked", "replayed", "capacity"]);

/** Members with a throttle of their own at most. Past it, throttles idle for LOG_EVERY_MS are
 *  dropped (the few refusals they had not yet counted in a line go uncounted); if every one is
 *  busy, the refusal is logged through its reason's throttle. */
export const MAX_MEMBER_LOGS = 1024;

export class RefusalLog {
  private readonly byReason: KeyedThrottledLogs; // error codes: a closed set
  private readonly byMember: KeyedThrottledLogs;

  /** `now`: the broker's clock (ctx.now), as for ThrottledLog. */
  constructor(log: Log, now: () => number) {
    this.byReason = new KeyedThrottledLogs(log, "info", now);
    this.byMember = new KeyedThrottledLogs(log, "info", now, MAX_MEMBER_LOGS);
  }

  /** Logs a refused handshake (`fields`, with notLoggedSinceLast) unless its throttle holds it
   *  back. `member`: the mesh id and member key the hello was signed for (a session hello's parent
   *  key), or undefined when no hello was read. */
  note(reason: string, member: string | undefined, fields: Record<string, unknown>): void {
    const own = member !== undefined && MEMBER_REASONS.has(reason) ? this.byMember.get(`${reason} ${member}`, MSG) : null;
    (own ?? this.byReason.get(reason, MSG)!).note(fields);
  }
}

const MSG = "connection rejected";
