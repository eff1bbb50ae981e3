// Which of one recipient's grant entries the broker applies (docs/protocol.md §5.9): it looks the
// sender's member key up first, so while a member has an entry, the entries of their sessions'
// keys do nothing. `claudemesh grants` and the dashboard's Grants route mark such an entry by this
// one rule, the rule src/broker/grants.ts (effectiveCaps) enforces.

/** A sender key as the peer list knows it: a member's, or a session's with its member's key. */
export type KnownSender = { kind: "member" | "session"; memberPubkey: string };

/** The member key whose entry, among `entryKeys` (the sender keys of one recipient's entries),
 *  applies instead of the entry for `sender`; null when that entry applies: a member's, a
 *  session's whose member has none, or one for a key the peer list does not know (`undefined`). */
export function overriddenBy(entryKeys: ReadonlySet<string>, sender: KnownSender | undefined): string | null {
  return sender?.kind === "session" && entryKeys.has(sender.memberPubkey) ? sender.memberPubkey : null;
}
