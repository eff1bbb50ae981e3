// fitInBudget (src/mcp/text-budget.ts): the one way hooks and tools fit a list into a character
// budget (SessionStart peers, ask reminders, mesh_peers, framed messages). `used` is the length of
// the texts as the caller joins them, so a caller that counts its own head and tail lines stays
// within its budget to the character: it used to count one separator too many (a gap the callers
// filled with `budget + 1`, or ran past with a header not counted). FUZZ_SEED replays a run.
import { expect, test } from "bun:test";
import fc from "fast-check";
import { fitInBudget } from "../../src/mcp/text-budget.ts";
import { frameBatch, MAX_INJECTION_CHARS } from "../../src/mcp/framing.ts";
import { peerLines } from "../../src/mcp/tools.ts";
import type { Pending } from "../../src/mcp/mesh-link.ts";
import type { PeerInfo } from "../../src/protocol/results.ts";

const fit = (items: string[], budget: number, opts: Parameters<typeof fitInBudget>[3]) => {
  const f = fitInBudget(items, (s) => s, budget, opts);
  return { taken: f.taken, used: f.used };
};

test("takes a leading run whose texts, joined with the gap, fit; stops at the first that does not", () => {
  expect(fit(["aaa", "bb", "c"], 8, { gap: 1 })).toEqual({ taken: ["aaa", "bb", "c"], used: 8 });
  expect(fit(["aaa", "bb", "c"], 7, { gap: 1 })).toEqual({ taken: ["aaa", "bb"], used: 6 });
  // "c" would fit after "bbbbbb" is refused, but nothing is skipped over.
  expect(fit(["aaa", "bbbbbb", "c"], 8, { gap: 2 })).toEqual({ taken: ["aaa"], used: 3 });
  expect(fit([], 10, { gap: 1 })).toEqual({ taken: [], used: 0 });
});

test("reserve keeps room for a line counting the rest; atLeastOne takes the first even over the budget", () => {
  const reserve = (n: number) => (n < 3 ? 5 : 0);
  expect(fit(["aa", "bb", "cc"], 10, { gap: 1, reserve })).toEqual({ taken: ["aa", "bb", "cc"], used: 8 });
  // Two would leave no room for the line counting the third, although all three fit in 9.
  expect(fit(["aa", "bb", "cc"], 9, { gap: 1, reserve })).toEqual({ taken: ["aa"], used: 2 });
  expect(fit(["toolong", "b"], 3, { gap: 1 })).toEqual({ taken: [], used: 0 });
  expect(fit(["toolong", "b"], 3, { gap: 1, atLeastOne: true })).toEqual({ taken: ["toolong"], used: 7 });
});

test("renders an item only when it is reached", () => {
  const rendered: number[] = [];
  const f = fitInBudget([1, 2, 3, 4], (n) => (rendered.push(n), "x".repeat(4)), 10, { gap: 1 });
  expect({ taken: f.taken, texts: f.texts, rendered }).toEqual({ taken: [1, 2], texts: ["xxxx", "xxxx"], rendered: [1, 2, 3] });
});

test("any list: the joined texts are `used` long and within the budget with the reserve, and the next item would not fit", () => {
  const args = [fc.array(fc.string({ maxLength: 30 }), { maxLength: 12 }), fc.nat(3), fc.nat(200), fc.nat(40), fc.boolean()] as const;
  fc.assert(
    fc.property(...args, (items, gap, budget, room, atLeastOne) => {
      const reserve = (n: number) => (n < items.length ? room : 0);
      const f = fitInBudget(items, (s) => s, budget, { gap, reserve, atLeastOne });
      const joined = (texts: string[]) => texts.join(" ".repeat(gap)).length;
      const k = f.taken.length;
      const forced = atLeastOne && k === 1;
      const nextFits = k < items.length && joined([...f.texts, items[k]!]) + reserve(k + 1) <= budget;
      return f.taken.every((t, i) => t === items[i]) && joined(f.texts) === f.used && (k === 0 || forced || f.used + reserve(k) <= budget) && !nextFits && !(atLeastOne && k === 0 && items.length > 0);
    }),
    { numRuns: 2_000, seed: Number(process.env.FUZZ_SEED) || undefined },
  );
});

const message = (i: number, body: string): Pending => ({
  messageId: `msg-${i}`, meshId: "mesh_budget1", kind: "direct", from: { name: "alice", pubkey: "a1".repeat(32), memberPubkey: "a1".repeat(32), memberId: "mbr_alice01" },
  to: "b2".repeat(32), topic: null, topicOffset: null, priority: "next", createdAt: 1, replyTo: null, clientMessageId: `c-${i}`, body, ask: false, mesh: "team",
});

const peer = (i: number, summary: string): PeerInfo => ({
  pubkey: i.toString(16).padStart(64, "0"), kind: "member", memberId: `mbr_${i}`, memberPubkey: i.toString(16).padStart(64, "0"), displayName: `agent-${i}`,
  online: true, status: "idle", summary, cwd: "/work/app", hostname: "box", connectedAt: 1, lastSeenAt: 1, groups: [], attestation: null,
});

test("a hook's messages and mesh_peers' lines stay within their budgets, their header and count lines included", () => {
  for (let size = 40; size <= 400; size += 9) {
    const batch = frameBatch(Array.from({ length: 60 }, (_, i) => message(i, "m".repeat(size))));
    expect({ size, over: batch.text.length > MAX_INJECTION_CHARS }).toEqual({ size, over: false });
    const budget = 2_000 + size;
    const lines = peerLines(Array.from({ length: 80 }, (_, i) => peer(i + 1, "s".repeat(size / 2))), "f".repeat(64), budget);
    expect({ size, over: lines.length > budget, counted: /\(\d+ more not listed\)$/.test(lines) }).toEqual({ size, over: false, counted: true });
  }
});
