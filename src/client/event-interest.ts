// Which `event` pushes a client asks its broker for (docs/protocol.md §4.3.1, the hello's
// `events`). Every connection of a mesh used to hear every change of every peer: a status change
// in a mesh of 1,000 connections was 1,000 frames, most of them to one-shot commands and MCP
// servers that read none. A client now names what it reads; the broker sends it nothing else.
import type { MeshError } from "../protocol/errors.ts";
import type { EventNameT } from "../protocol/server-frames.ts";

/** The events the client library reads itself, whatever its caller wants: `key_rotated` keeps
 *  `ack.mesh.keyEpoch` current, by which MeshSession.send refuses to seal under an older key. */
export const CLIENT_EVENTS: readonly EventNameT[] = ["key_rotated"];

/** What a caller wants given to its onEvent: every event, or these. */
export type EventChoice = "all" | readonly EventNameT[];

/** A broker older than the field refuses a hello carrying it as it refuses any unknown field
 *  (§1.2, §2.2): `malformed`, naming the field. */
const REFUSED_AS_UNKNOWN = /^Invalid (session_)?hello frame at \/events: Unexpected property\.$/;

export class EventInterest {
  /** The last hello was refused for the field: the next one, said at once, leaves it out. */
  private omitNext = false;
  /** Whether the last hello carried the field: only then can its refusal be the field's. */
  private sentField = false;
  private readonly wanted: ReadonlySet<string> | null;

  /** `refusedLately`: this machine saw the broker refuse the field within the hour
   *  (refusal-memory.ts), so the first hello leaves it out rather than be refused for it; the later
   *  ones ask again, as after a refusal. */
  constructor(choice: EventChoice, refusedLately = false) {
    this.wanted = choice === "all" ? null : new Set(choice);
    this.omitNext = refusedLately;
  }

  /** The next hello's `events` field: absent for "all" (every event, as a hello without it has
   *  always had) and right after a refusal of it; else the caller's events and the client's own.
   *  Each later connection asks again: the broker that refused it may have been upgraded since
   *  (a restart, which is also what the client reconnects after), and a long-lived client (the
   *  MCP server) would otherwise be sent every presence change for the rest of its life. */
  helloField(): { events?: string[] } {
    this.sentField = this.wanted !== null && !this.omitNext;
    this.omitNext = false;
    return this.sentField ? { events: [...new Set([...CLIENT_EVENTS, ...this.wanted!])] } : {};
  }

  /** Whether the caller's onEvent is given this event: an event the client asked for only for
   *  itself, or that a broker which does not know the field sent anyway, is not. */
  wants(event: string): boolean {
    return this.wanted === null || this.wanted.has(event);
  }

  /** Whether a hello closed with `reason` (the broker's error frame `refusal` before it) was
   *  refused only for the field, by a broker older than it. If so the next hello leaves it out,
   *  and the caller says it again at once: nothing else was wrong with it. A hello without the
   *  field cannot be refused so, hence at most one such repeat per connection attempt. */
  refusedField(reason: string, refusal: MeshError | null): boolean {
    if (!this.sentField || reason !== "malformed" || !refusal || !REFUSED_AS_UNKNOWN.test(refusal.message)) return false;
    this.omitNext = true;
    return true;
  }
}
