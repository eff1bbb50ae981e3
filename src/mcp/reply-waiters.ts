// mesh_ask's wait for an answer: the first peer message whose replyTo names the question goes to
// the waiting tool call instead of the pending list, until the wait times out or is cancelled. A
// message is handed to one place only: the call, or the pending list (mesh_inbox, the hooks).
import type { Delivered } from "../client/mesh-session.ts";
import { MeshError } from "../protocol/errors.ts";
import { awakeTimeout } from "../client/wake.ts";

/** Whether `m` answers question `questionId`. Only a peer answers a question: a broker notice
 *  naming the question (its expiry) is not its reply. */
export const answers = (m: Delivered, questionId: string): boolean => m.replyTo === questionId && m.kind !== "system";

/** Where a message was shown whole to the model: injected by a hook, or returned by a tool. */
export const SHOWN_BY = ["hook", "mesh_inbox", "mesh_ask"] as const;
export type ShownBy = (typeof SHOWN_BY)[number];

/** A reply to a question that the model was already shown whole: its id, its sender's name, and
 *  where it was shown (null: not known). */
export type ShownReply = { messageId: string; fromName: string; by: ShownBy | null };

/** What an ask found already here for its question: the reply, now its own (removed from
 *  `pending`), or the reply that was read (shown whole, by a hook or by mesh_inbox) while the ask
 *  waited for the hook holding it to finish. */
export type Early<M> = { reply: M } | { read: M };

/** Takes the oldest unread reply to `questionId` from `pending`, if one is there: pushed before
 *  the question's send result came back, or, for an ask retried with its clientMessageId (the same
 *  question id), after the first attempt stopped waiting. A message goes to one place: a reply a
 *  hook is printing right now (`heldByHook` gives a promise settled once the hook confirmed, or its
 *  hand-out lapsed) is not taken while it prints; once settled, it is this ask's unless the hook
 *  showed it whole. Null if there is none, or once `signal` aborts.
 *
 *  It waits for one hook at most (HANDOUT_MS, not longer than the shortest ask timeout): once
 *  that hook's hold settles, the reply is either read or no longer held (a released message is not
 *  handed out again before this continues: no other event runs in between), so the next pass
 *  returns. */
export async function takeAnswer<M extends Delivered>(
  pending: Map<string, M>,
  questionId: string,
  heldByHook: (messageId: string) => Promise<void> | null,
  signal?: AbortSignal,
): Promise<Early<M> | null> {
  for (;;) {
    if (signal?.aborted) return null;
    const m = [...pending.values()].find((x) => answers(x, questionId));
    if (!m) return null;
    const held = heldByHook(m.messageId);
    if (!held) {
      pending.delete(m.messageId);
      return { reply: m };
    }
    await abortable(held, signal);
    // Shown whole by the hook (marked seen), or by a mesh_inbox that also waited for it: not this
    // ask's to show again. Still pending (the hook showed it cut short, or died first): looked for
    // again, and taken.
    if (!signal?.aborted && !pending.has(m.messageId)) return { read: m };
  }
}

/** `p`, or sooner once `signal` aborts. */
function abortable(p: Promise<void>, signal?: AbortSignal): Promise<void> {
  if (!signal) return p;
  return new Promise((resolve) => {
    const done = () => (signal.removeEventListener("abort", done), resolve());
    signal.addEventListener("abort", done, { once: true });
    void p.then(done);
  });
}

export class ReplyWaiters<M extends Delivered> {
  private readonly waiting = new Map<string, (m: M) => void>();
  /** Questions an ask call is busy with, from its send result to its own result. */
  private readonly claimed = new Set<string>();

  /** Makes `questionId` this call's until the returned release is called. Throws `conflict` when
   *  another call has it: two asks with the same client_message_id (the same question) would
   *  share one reply, so one of them would wait out its timeout, or both would show it. */
  claim(questionId: string, clientMessageId?: string): () => void {
    if (this.claimed.has(questionId)) {
      const retry = clientMessageId ? ` (client_message_id "${clientMessageId}")` : "";
      throw new MeshError("conflict", `Another mesh_ask call is already waiting for the reply to question ${questionId}${retry}: that call returns the reply. Do not repeat the ask while it waits; to ask something new, call mesh_ask without client_message_id.`);
    }
    this.claimed.add(questionId);
    return () => this.claimed.delete(questionId);
  }

  /** Resolves with the first reply to `questionId`, or null after `timeoutMs` (of time the process
   *  ran: a laptop closed through it still gets the reply that came meanwhile, awakeTimeout) or once
   *  `signal` aborts (the MCP call was cancelled); from then on a reply is an ordinary message. */
  wait(questionId: string, timeoutMs: number, signal?: AbortSignal): Promise<M | null> {
    if (signal?.aborted) return Promise.resolve(null);
    return new Promise<M | null>((resolve) => {
      const done = (m: M | null) => {
        timer.clear();
        signal?.removeEventListener("abort", cancelled);
        this.waiting.delete(questionId);
        resolve(m);
      };
      const cancelled = () => done(null);
      const timer = awakeTimeout(cancelled, timeoutMs);
      signal?.addEventListener("abort", cancelled, { once: true });
      this.waiting.set(questionId, done);
    });
  }

  /** Hands `m` to the call waiting for it, if it answers a question being waited on; true if so. */
  take(m: M): boolean {
    const waiter = m.replyTo && answers(m, m.replyTo) ? this.waiting.get(m.replyTo) : undefined;
    waiter?.(m);
    return waiter !== undefined;
  }
}
