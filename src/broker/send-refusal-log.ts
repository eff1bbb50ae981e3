// Refused messages and requests in the log (operations.md "Logs"). A send refused by a queue bound
// or a rate limit, or a message expired undelivered, used to move a counter only: an operator saw
// `broker_queue_refused_total` grow and could not tell which mesh or member. Each (mesh, member,
// reason) has its own throttle (throttled-log.ts): its first line, then at most one per
// LOG_EVERY_MS with the count not logged since, so one member's flood can neither fill the log nor
// hide another member (a line names the member whose refusals it counts).
// Lines name the mesh, the sending member and a key prefix: never a body or ciphertext.
import type { Log } from "../log/log.ts";
import { KEY_PREFIX_CHARS } from "./conn.ts";
import { KeyedThrottledLogs } from "./throttled-log.ts";

/** (mesh, member, reason) throttles kept at most; past it, a refusal goes through its reason's
 *  throttle (whose lines then name whichever member got through). */
export const MAX_MESH_LOGS = 1024;

/** What a line says about a refusal: `reason` is the queue bound (mailbox, sender, mesh, broker),
 *  `rate_limited` with the `limit` (send, status, change), or `not_granted` (at debug). */
export type RefusedSend = { meshId: string; memberId: string; reason: string; limit?: string; to?: string; count?: number };

export class SendRefusalLog {
  private readonly perMesh: KeyedThrottledLogs;
  private readonly perReason: KeyedThrottledLogs;

  constructor(
    private readonly log: Log,
    now: () => number,
  ) {
    this.perMesh = new KeyedThrottledLogs(log, "info", now, MAX_MESH_LOGS);
    this.perReason = new KeyedThrottledLogs(log, "info", now);
  }

  /** Logs a refusal, throttled per mesh, member and reason (and limit). `msg`: `send refused`, or
   *  `request refused` for status and change limits. */
  note(r: RefusedSend, msg = "send refused"): void {
    const fields = { ...r, ...(r.to !== undefined ? { to: keyPrefix(r.to) } : {}) };
    if (r.reason === "not_granted") return this.log.debug(msg, fields); // a recipient's choice, not a fault
    const kind = `${msg} ${r.reason} ${r.limit ?? ""}`;
    (this.perMesh.get(`${kind} ${r.meshId} ${r.memberId}`, msg) ?? this.perReason.get(kind, msg)!).note(fields);
  }
}

/** A recipient as a line shows it: a key's first characters; `*`, `@group` and `#topic` whole. */
const keyPrefix = (to: string) => (/^[*@#]/.test(to) ? to : to.slice(0, KEY_PREFIX_CHARS));
