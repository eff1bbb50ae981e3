// The envelope binds a message to its target (`to`, §11.4), but a push also says what kind of
// message it is and, for a topic post, which topic: the broker's words, not the sender's. The
// CLI and the MCP server show where a message was sent from those (`#topic`, everyone, a group,
// "you directly"), so a push whose kind or topic does not follow from its sealed target is refused
// like any other context mismatch: otherwise a broker could show a DM as a #general post, or a
// #general post as one in #secret, without touching the ciphertext.
import { PUBKEY_RE } from "../crypto/fields.ts";
import type { MessagePushFrame } from "../protocol/server-frames.ts";

/** True when the push's kind, topic and topic offset do not contradict its target `to`: a DM is
 *  `direct`, `*` a `broadcast`, `@g` a `group`, and only `#t` a `topic`, whose `topic` is `t` when
 *  the push names one. Call only once the envelope verified `to`; broker notices (`system`) have
 *  no envelope and are not routes. */
export function routeMatchesTarget(m: Pick<MessagePushFrame, "kind" | "to" | "topic" | "topicOffset">): boolean {
  const noTopic = m.topic === undefined && m.topicOffset === undefined;
  if (PUBKEY_RE.test(m.to)) return m.kind === "direct" && noTopic;
  if (m.to === "*") return m.kind === "broadcast" && noTopic;
  if (m.to.startsWith("@")) return m.kind === "group" && noTopic;
  if (m.to.startsWith("#")) return m.kind === "topic" && (m.topic === undefined || m.topic === m.to.slice(1));
  return false;
}

/** The topic a message was sealed for (`#t` → `t`), or null: what clients show, never the push's
 *  own `topic` field. */
export const sealedTopic = (to: string): string | null => (to.startsWith("#") ? to.slice(1) : null);
