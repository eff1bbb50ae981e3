// Grant policy (recipient-side capabilities), as in the seeds: look up the recipient's entry for
// the sender's member key first, then for the sender's session key. No entry → the defaults;
// an entry → exactly its caps; an empty entry → blocked.
import type { Cap } from "../protocol/fields.ts";
import { CAPS } from "../protocol/choices.ts";
import type { Grant } from "../store/types.ts";

export const DEFAULT_CAPS: readonly Cap[] = CAPS;

/** Capabilities `recipientMemberId` gives to a sender identified by its member key and, for a
 *  session, its session key. `rows`: the recipient's grant rows (others are skipped, at a cost:
 *  a fan-out passes each recipient its own, Roster.grantsTo). */
export function effectiveCaps(rows: readonly Grant[], recipientMemberId: string, senderMemberPubkey: string, senderSessionPubkey: string | null): readonly Cap[] {
  let sessionRow: Grant | undefined;
  for (const r of rows) {
    if (r.recipientMemberId !== recipientMemberId) continue;
    if (r.senderPubkey === senderMemberPubkey) return r.caps;
    if (senderSessionPubkey && r.senderPubkey === senderSessionPubkey) sessionRow = r;
  }
  return sessionRow ? sessionRow.caps : DEFAULT_CAPS;
}

/** The capability a message kind needs from each recipient. */
export function capFor(kind: "direct" | "broadcast" | "group" | "topic"): Cap {
  return kind === "direct" ? "dm" : kind;
}
