// fitInBudget (src/mcp/text-budget.ts): the one way hooks and tools fit a list into a character
// budget (SessionStart peers, ask reminders, mesh_peers, framed messages).
import { expect, test } from "bun:test";
import { fitInBudget } from "../../src/mcp/text-budget.ts";

const fit = (items: string[], budget: number, opts: Parameters<typeof fitInBudget>[3]) => {
  const f = fitInBudget(items, (s) => s, budget, opts);
  return { taken: f.taken, used: f.used };
};

test("takes a leading run, each item costing its length plus the gap; stops at the first that does not fit", () => {
  expect(fit(["aaa", "bb", "c"], 7, { gap: 1 })).toEqual({ taken: ["aaa", "bb"], used: 7 });
  expect(fit(["aaa", "bb", "c"], 6, { gap: 1 })).toEqual({ taken: ["aaa"], used: 4 });
  // "c" would fit after "bb" is refused, but nothing is skipped over.
  expect(fit(["aaa", "bbbbbb", "c"], 8, { gap: 2 })).toEqual({ taken: ["aaa"], used: 5 });
  expect(fit([], 10, { gap: 1 })).toEqual({ taken: [], used: 0 });
});

test("reserve keeps room for a line counting the rest; atLeastOne takes the first even over the budget", () => {
  const reserve = (n: number) => (n < 3 ? 5 : 0);
  expect(fit(["aa", "bb", "cc"], 11, { gap: 1, reserve })).toEqual({ taken: ["aa", "bb", "cc"], used: 9 });
  // Two would leave no room for the line counting the third, although all three fit in 9.
  expect(fit(["aa", "bb", "cc"], 10, { gap: 1, reserve })).toEqual({ taken: ["aa"], used: 3 });
  expect(fit(["toolong", "b"], 3, { gap: 1 })).toEqual({ taken: [], used: 0 });
  expect(fit(["toolong", "b"], 3, { gap: 1, atLeastOne: true })).toEqual({ taken: ["toolong"], used: 8 });
});

test("renders an item only when it is reached", () => {
  const rendered: number[] = [];
  const f = fitInBudget([1, 2, 3, 4], (n) => (rendered.push(n), "x".repeat(4)), 10, { gap: 1 });
  expect({ taken: f.taken, texts: f.texts, rendered }).toEqual({ taken: [1, 2], texts: ["xxxx", "xxxx"], rendered: [1, 2, 3] });
});
