// The hellos one BrokerClient says (client.ts): what each carries (credentials, whereabouts, the
// events it subscribes to, a session's attestation) and when a refused one is said again at once
// rather than counted as a failed attempt: after `replayed` (hello-repeat.ts) and after an older
// broker's refusal of the `events` field (event-interest.ts).
import type { MeshError } from "../protocol/errors.ts";
import type { HelloFrame, SessionHelloFrame } from "../protocol/frames.ts";
import { attestorOf, buildHello, identityKey, type SessionAttestor } from "./credentials.ts";
import { EventInterest } from "./event-interest.ts";
import { BrokerRefusals } from "./broker-refusals.ts";
import { HelloRepeats } from "./hello-repeat.ts";
import type { ClientOptions } from "./client-options.ts";

export class Hellos {
  /** A session's attestations (null for a member connection). */
  readonly attestor: SessionAttestor | null;
  /** The events asked for in the hello and given to onEvent (ClientOptions.events). */
  readonly interest: EventInterest;
  /** What the broker refused of this client's newer asks (the `events` field here, the lookups in
   *  lookups.ts), seeded with what this machine saw it refuse lately (ClientOptions.refusedLately). */
  readonly refusals: BrokerRefusals;
  /** Hellos said again after a `replayed` refusal, with a timestamp of their own. */
  private readonly repeats: HelloRepeats;

  constructor(private readonly opts: Pick<ClientOptions, "credentials" | "where" | "events" | "refusedLately" | "onRefused" | "onEvent" | "random">) {
    this.attestor = opts.credentials.kind === "session" ? attestorOf(opts.credentials) : null;
    this.refusals = new BrokerRefusals(opts.refusedLately, opts.onRefused);
    this.interest = new EventInterest(opts.events ?? (opts.onEvent ? "all" : []), this.refusals.refuses("events"));
    this.repeats = new HelloRepeats(opts.random);
  }

  /** The hello for a socket that just opened. */
  next(): HelloFrame | SessionHelloFrame {
    this.refusals.opening();
    const at = this.repeats.timestamp(identityKey(this.opts.credentials));
    return buildHello(this.opts.credentials, { ...this.opts.where, ...this.interest.helloField() }, at, this.attestor ?? undefined);
  }

  /** Whether a socket that closed for `reason` (after the broker's error frame `refusal`) says its
   *  hello again at once. Two processes of one key saying hello in the same millisecond (one-shot
   *  commands started at once) sign the same text, and the broker refuses all but one as
   *  `replayed`: a first connect (`first`) says it again with a timestamp of its own rather than
   *  fail for it. A broker older than the hello's `events` refused it for that field alone. */
  sayAgain(reason: string, refusal: MeshError | null, first: boolean): boolean {
    if (this.repeats.refused(reason, first)) return true;
    if (!this.interest.refusedField(reason, refusal)) return false;
    this.refusals.refused("events");
    return true;
  }
}
