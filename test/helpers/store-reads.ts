// How many rows a broker's store hands back, by method: the length of every array (and size of
// every map) a Store method resolves with, from the call of storeReads on. A measure of how much of
// the database an operation reads that does not depend on the machine's speed, so a test can pin
// that an operation's cost does not grow with the mesh (the machine running the tests is shared).
import type { Store } from "../../src/store/types.ts";

export type StoreReads = {
  /** Rows handed back since the start or the last reset, by every method or by `method`. */
  rows(method?: keyof Store): number;
  reset(): void;
  [Symbol.dispose](): void;
};

export function storeReads(store: Store): StoreReads {
  const counts = new Map<string, number>();
  const own = store as unknown as Record<string, unknown>;
  const names = Object.getOwnPropertyNames(Object.getPrototypeOf(store)).filter((k) => k !== "constructor" && typeof own[k] === "function");
  for (const name of names) {
    const original = own[name] as (...args: unknown[]) => unknown;
    own[name] = function (this: unknown, ...args: unknown[]) {
      const out = original.apply(store, args);
      if (out instanceof Promise) void out.then((v) => count(name, v), () => {});
      else count(name, out);
      return out;
    };
  }
  const count = (name: string, v: unknown) => {
    const n = Array.isArray(v) ? v.length : v instanceof Map ? v.size : 0;
    if (n > 0) counts.set(name, (counts.get(name) ?? 0) + n);
  };
  return {
    rows: (method) => (method === undefined ? [...counts.values()].reduce((a, b) => a + b, 0) : (counts.get(method) ?? 0)),
    reset: () => counts.clear(),
    [Symbol.dispose]: () => {
      for (const name of names) delete own[name];
    },
  };
}
