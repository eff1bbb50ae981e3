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
  /** Set once a broker refused the field: later hellos leave it out (and hear every event). */
  private refused = false;
  private readonly wanted: ReadonlySet<string> | null;

  constructor(choice: EventChoice) {
    this.wanted = choice === "all" ? null : new Set(choice);
  }

  /** The hello's `events` field: absent for "all" (every event, as a hello without it has always
   *  had) and after a refusal; else the caller's events and the client's own. */
  helloField(): { events?: string[] } {
    if (this.wanted === null || this.refused) return {};
    return { events: [...new Set([...CLIENT_EVENTS, ...this.wanted])] };
  }

  /** Whether the caller's onEvent is given this event: an event the client asked for only for
   *  itself, or that a broker which does not know the field sent anyway, is not. */
  wants(event: string): boolean {
    return this.wanted === null || this.wanted.has(event);
  }

  /** Whether a hello closed with `reason` (the broker's error frame `refusal` before it) was
   *  refused only for the field, by a broker older than it. If so the next hello leaves it out,
   *  and the caller says it again at once: nothing else was wrong with it. Once only. */
  refusedField(reason: string, refusal: MeshError | null): boolean {
    if (this.refused || reason !== "malformed" || !refusal || !REFUSED_AS_UNKNOWN.test(refusal.message)) return false;
    this.refused = true;
    return true;
  }
}
