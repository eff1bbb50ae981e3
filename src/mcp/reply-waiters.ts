// mesh_ask's wait for an answer: the first peer message whose replyTo names the question goes to
// the waiting tool call instead of the pending list, until the wait times out or is cancelled.
import type { Delivered } from "../client/mesh-session.ts";

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

  /** Hands `m` to the call waiting for it, if it answers a question being waited on; true if so.
   *  Only a peer answers a question: a broker notice naming the question is not its reply. */
  take(m: M): boolean {
    const waiter = m.replyTo && m.kind !== "system" ? this.waiting.get(m.replyTo) : undefined;
    waiter?.(m);
    return waiter !== undefined;
  }
}
