// What a reader is told of a direct message whose sender's member key the member list does not
// trace to the mesh owner's signatures (Delivered.untraced): anyone can box a message to a key, so
// the broker could have written it under a member's name; a member enrolled before brokers kept
// admission evidence looks the same. Its own file: the hooks frame messages and must load fast.

/** The sentence, or null for a message whose sender traces to the owner. */
export const senderDoubt = (m: { untraced?: true }): string | null =>
  m.untraced ? "its sender's key does not trace to the mesh owner's signatures: the broker could have written it under that name" : null;
