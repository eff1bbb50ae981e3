// Whom a direct message may come from. Anyone can box a message to a member's key, the broker
// included, so a reader traces the sender's member key to the owner's signatures as a sender
// traces a recipient's (admission.ts): with the rows the broker gives, of which only an enrolment
// signed back to the owner counts. A session sender counts as its member, to which the
// attestation sealed in its message binds it. The rows are member_lookup's for each new sender
// (lookups.ts, as a send vouches for its recipient), or, from a broker without it, the member list.
import type { MessagePushFrame } from "../protocol/server-frames.ts";
import { enrolledKeys, type Removals } from "./admission.ts";
import type { BrokerClient } from "./client.ts";
import { memberRows } from "./lookups.ts";

/** Most new senders looked up one by one for one batch of pushes; past it the member list is read
 *  once instead. Each lookup is a request, counted in the connection's frame allowance (500 at
 *  once by default), and a batch holds up to PUSH_WINDOW pushes. */
export const MAX_SENDER_LOOKUPS = 32;

export class SenderTrace {
  /** Member keys traced by the rows read so far (the owner's and this member's always are). */
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

  /** Reads what tracing the senders of `pushes` needs, for those not known to trace: one
   *  member_lookup per such member key (none if there is none), or the member list once (a broker
   *  without the lookups, an answer not of its shape, more than MAX_SENDER_LOOKUPS keys). The
   *  verdicts are the member list's: the rows it would give for the key, and the broker's count of
   *  claims for an invite in place of the rows of the invite's other members (§4.3.29). Errors of
   *  either read are thrown; nothing is learnt then. */
  async learn(client: BrokerClient, pushes: readonly MessagePushFrame[]): Promise<void> {
    const keys = [...new Set(pushes.filter((m) => this.unknown(m)).map((m) => m.from.memberPubkey))];
    if (keys.length === 0) return;
    const { meshId, ownerPubkey } = this.id;
    const found = keys.length <= MAX_SENDER_LOOKUPS ? await Promise.all(keys.map((k) => memberRows(client, k))) : [null];
    const removals = this.removals();
    if (found.every((r) => r !== null)) {
      for (const r of found) for (const k of enrolledKeys(meshId, ownerPubkey, r.members, removals, r.counts)) this.traced.add(k);
      // As the whole list's answer would: a key the owner's own record removed since is out.
      for (const k of removals?.keys ?? []) this.traced.delete(k);
      return;
    }
    const { members } = await client.request("member_list", {});
    this.traced = enrolledKeys(meshId, ownerPubkey, members, removals);
  }
}
