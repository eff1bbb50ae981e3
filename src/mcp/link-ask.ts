// mesh_ask on one mesh link: the question sent, then its answer taken from what is already pending,
// said to have been shown already, or waited for (reply-waiters.ts). A message goes to one place:
// this call, the pending list, or the hook printing it.
import type { Results } from "../protocol/results.ts";
import type { Priority } from "../protocol/fields.ts";
import { takeAnswer, type ReplyWaiters, type ShownReply } from "./reply-waiters.ts";
import type { SendOptions } from "./outgoing.ts";
import type { Pending } from "./mesh-link.ts";

export type AskDeps = {
  send: (target: string, body: string, opts: SendOptions) => Promise<Results["send"]>;
  replies: ReplyWaiters<Pending>;
  /** The link's unread messages, by id, oldest first (Incoming.pending). */
  pending: Map<string, Pending>;
  /** Null if no hook holds this message, else a promise settled once none does (Meshes.heldByHook). */
  heldByHook: (messageId: string) => Promise<void> | null;
  /** The reply to a question already shown whole (LinkMemory.shownReply). */
  shownReply: (questionId: string) => ShownReply | undefined;
};

export type AskOptions = { timeoutMs: number; priority?: Priority; signal?: AbortSignal; clientMessageId?: string };
export type Asked = { sent: Results["send"] } & ({ reply: Pending | null } | { shown: ShownReply });

/** Sends a question and returns the first message that replies to it: one already pending
 *  (taken from the pending list), else the first to come until the timeout or until `signal`
 *  aborts (the MCP call was cancelled): from then on a reply is an ordinary pending message. A
 *  reply returned must be settled with MeshLink.settleReply. `shown`: the reply was already shown
 *  whole, by a hook, mesh_inbox or an earlier ask (this is a retry with the same
 *  client_message_id, or the reply came before the send's result and a hook showed it), perhaps
 *  while this call waited for the hook holding it (at most HANDOUT_MS; it then waits no longer);
 *  the result must not show it again. Throws `conflict` while another call asks the same question
 *  (the same client_message_id). `timeoutMs` counts from the send's result. */
export async function askFrom(d: AskDeps, target: string, question: string, opts: AskOptions): Promise<Asked> {
  const sent = await d.send(target, question, { kind: "ask", priority: opts.priority ?? "next", ...(opts.clientMessageId ? { clientMessageId: opts.clientMessageId } : {}) });
  const release = d.replies.claim(sent.messageId, opts.clientMessageId);
  try {
    // A reply already here (a retry of an ask already answered) is this call's, not mesh_inbox's,
    // unless a hook holds it (takeAnswer).
    const early = await takeAnswer(d.pending, sent.messageId, d.heldByHook, opts.signal);
    if (early && "reply" in early) return { sent, reply: early.reply };
    // Already read: the peer does not answer the same question again, so waiting would only end
    // in a misleading "No reply". Checked before waiting, with no event in between.
    const shown = d.shownReply(sent.messageId) ?? (early ? { messageId: early.read.messageId, fromName: early.read.from.name, by: null } : undefined);
    if (shown) return { sent, shown };
    return { sent, reply: await d.replies.wait(sent.messageId, opts.timeoutMs, opts.signal) };
  } finally {
    release();
  }
}
