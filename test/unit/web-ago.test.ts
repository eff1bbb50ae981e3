// How long ago, as the dashboard words it (web/lib/dom.ts ago): each unit is chosen after rounding
// to it, so the page never says "60 min ago" or "24 h ago".
import { expect, test } from "bun:test";
import { ago } from "../../web/lib/dom.ts";

const NOW = 1_700_000_000_000;
const before = (s: number) => ago(NOW - s * 1000, NOW);

test("ago rounds, then picks the unit", () => {
  expect([0, 59, 89, 90, 3569, 3570, 5399, 5400, 84_599, 84_600, 86_000].map(before)).toEqual([
    "0 s ago",
    "59 s ago",
    "1 min ago",
    "2 min ago",
    "59 min ago",
    "1 h ago",
    "1 h ago",
    "2 h ago",
    "23 h ago",
    new Date(NOW - 84_600_000).toLocaleString(),
    new Date(NOW - 86_000_000).toLocaleString(),
  ]);
  expect(ago(null, NOW)).toBe("never");
});
