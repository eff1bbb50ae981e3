// mesh_ask's wait for an answer: the first peer message whose replyTo names the question goes to
// the waiting tool call instead of the pending list, until the wait times out or is cancelled. A
// message is handed to one place only: the call, or the pending list (mesh_inbox, the hooks).
import type { Delivered } from "../client/mesh-session.ts";

/** Whether `m` answers question `questionId`. Only a peer answers a question: a broker notice
 *  naming the question (its expiry) is not its reply. */
const answers = (m: Delivered, questionId: string): boolean => m.replyTo === questionId && m.kind !== "system";

/** Removes from `pending` and returns the oldest unread reply to `questionId`, if one is there:
 *  pushed before the question's send result came back, or, for an ask retried with its
 *  clientMessageId (the same question id), after the first attempt stopped waiting. */
export function takeAnswer<M extends Delivered>(pending: Map<string, M>, questionId: string): M | null {
  for (const m of pending.values()) {
    if (!answers(m, questionId)) continue;
    pending.delete(m.messageId);
    return m;
  }
  return null;
}

export class ReplyWaiters<M extends Delivered> {
  private readonly waiting = new Map<string, (m: M) => void>();

  /** Resolves with the first reply to `questionId`, or null after `timeoutMs` or once `signal`
   *  aborts (the MCP call was cancelled); from then on a reply is an ordinary message. */
  wait(questionId: string, timeoutMs: number, signal?: AbortSignal): Promise<M | null> {
    if (signal?.aborted) return Promise.resolve(null);
    return new Promise<M | null>((resolve) => {
      const done = (m: M | null) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", cancelled);
        this.waiting.delete(questionId);
        resolve(m);
      };
      const cancelled = () => done(null);
      const timer = setTimeout(cancelled, timeoutMs);
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
