// A BrokerClient's state changes as a test sees them: each recorded as `state` or `state:code`,
// and awaited by a predicate with a deadline.
import type { ClientState } from "../../src/client/client.ts";

/** `onState` for the client's options; `until(pred, ms)` resolves at the next change for which
 *  `pred` holds, or rejects after `ms` naming what was seen. */
export function stateWatch() {
  const seen: string[] = [];
  let waiter: { pred: (s: ClientState) => boolean; resolve: () => void } | null = null;
  return {
    seen,
    onState: (s: ClientState, d: { code?: number }) => {
      seen.push(`${s}${d.code ? `:${d.code}` : ""}`);
      if (waiter?.pred(s)) waiter.resolve();
    },
    until(pred: (s: ClientState) => boolean, timeoutMs: number): Promise<void> {
      const p = Promise.withResolvers<void>();
      const timer = setTimeout(() => p.reject(new Error(`no matching state within ${timeoutMs} ms (saw ${seen.join(", ")})`)), timeoutMs);
      waiter = { pred, resolve: () => (clearTimeout(timer), p.resolve()) };
      return p.promise;
    },
  };
}
