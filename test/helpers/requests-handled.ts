// How many requests of each type the in-process broker's handlers answered, from the call on: what
// a client asked of the broker for one operation (a CLI or MCP server in another process included),
// counted where every transport's requests meet (HANDLERS). Installed on the shared handler table:
// one per test process at a time.
import { HANDLERS } from "../../src/broker/handlers/index.ts";
import type { RequestType } from "../../src/protocol/frames.ts";

export type RequestsHandled = {
  /** Requests of `type` answered (successfully or not) since the start or the last reset. */
  count(type: RequestType): number;
  reset(): void;
  [Symbol.dispose](): void;
};

export function requestsHandled(): RequestsHandled {
  const real = { ...HANDLERS };
  const counts = new Map<string, number>();
  for (const type of Object.keys(real) as RequestType[]) {
    const handler = real[type] as (...a: unknown[]) => Promise<unknown>;
    (HANDLERS as Record<string, unknown>)[type] = (...a: unknown[]) => {
      counts.set(type, (counts.get(type) ?? 0) + 1);
      return handler(...a);
    };
  }
  return {
    count: (type) => counts.get(type) ?? 0,
    reset: () => counts.clear(),
    [Symbol.dispose]: () => void Object.assign(HANDLERS, real),
  };
}
