// What a client's broker refused of the things added within protocol version 1 (docs/protocol.md
// §1.2): the hello's `events` field, and the `peer_lookup`/`member_lookup` requests (one commit
// added both, so a broker without one is without the other). A broker older than them refuses
// them; the client then does without, as clients did before, and asks no more on that connection.
// A reconnect may reach a broker upgraded meanwhile (a restart is what a client reconnects after),
// so a later connection asks again. The CLI keeps such refusals for an hour in config.json
// (refusal-memory.ts) and gives them here as `lately`, which speaks for the first connection only.

/** What an older broker refuses: `events` (the hello's field, §4.3.1), `lookups` (§4.3.28-29). */
export type Refusable = "events" | "lookups";

export class BrokerRefusals {
  /** What the current connection's broker refused (on the first connection, with what this
   *  machine saw it refuse lately). */
  private current: Set<Refusable>;
  /** A hello was acknowledged since the current connection's first socket opened. */
  private acked = false;

  /** `onRefused`: each refusal as it comes (the CLI notes it), not what `lately` said. */
  constructor(
    lately: Iterable<Refusable> = [],
    private readonly onRefused: (what: Refusable) => void = () => {},
  ) {
    this.current = new Set(lately);
  }

  /** A socket opens for a hello: after an acknowledged one (a reconnect), nothing is refused
   *  yet. A hello said again at once on a new socket (after a refusal of it) is the same attempt. */
  opening(): void {
    if (this.acked) this.current = new Set();
    this.acked = false;
  }

  /** A hello was acknowledged. */
  connected(): void {
    this.acked = true;
  }

  /** Whether `what` is not to be asked on the current connection. */
  refuses(what: Refusable): boolean {
    return this.current.has(what);
  }

  /** The broker refused `what` as one older than it does: not asked again on this connection
   *  (onRefused is told once per connection, however many asks were under way). */
  refused(what: Refusable): void {
    if (this.current.has(what)) return;
    this.current.add(what);
    this.onRefused(what);
  }
}
