// Whom a direct message may come from. Anyone can box a message to a member's key, the broker
// included, so a reader traces the sender's member key to the owner's signatures as a sender
// traces a recipient's (admission.ts): with the member list the broker gives, of which only an
// enrolment signed back to the owner counts. A session sender counts as its member, to which the
// attestation sealed in its message binds it.
import type { MessagePushFrame } from "../protocol/server-frames.ts";
import { enrolledKeys, type Removals } from "./admission.ts";
import type { BrokerClient } from "./client.ts";

export class SenderTrace {
  /** Member keys traced by the last member list read (the owner's and this member's always are). */
  private traced = new Set<string>();

  constructor(
    private readonly id: { meshId: string; ownerPubkey: string; memberPubkey: string },
    private readonly removals: () => Removals | undefined,
  ) {}

  /** Whether `m` is a direct message whose sender's member key is not known to trace. Only a direct
   *  message needs it: a post to a topic, a group or everyone is sealed with the mesh key, which
   *  only members hold. */
  unknown(m: MessagePushFrame): boolean {
    const key = m.from.memberPubkey;
    return m.kind === "direct" && key !== this.id.ownerPubkey && key !== this.id.memberPubkey && !this.traced.has(key);
  }

  /** Reads the member list when a direct message among `pushes` comes from a member key not known
   *  to trace (one request; none otherwise). */
  async learn(client: BrokerClient, pushes: readonly MessagePushFrame[]): Promise<void> {
    if (!pushes.some((m) => this.unknown(m))) return;
    const { members } = await client.request("member_list", {});
    this.traced = enrolledKeys(this.id.meshId, this.id.ownerPubkey, members, this.removals());
  }
}
