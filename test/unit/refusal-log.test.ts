// RefusalLog (src/broker/refusal-log.ts): refused handshakes throttled per reason, and per member
// for the reasons only a member's signed hello reaches; the per-member throttles are bounded
// (MAX_MEMBER_LOGS), idle ones dropped first, and past the bound a refusal goes through its reason's.
import { expect, test } from "bun:test";
import { MAX_MEMBER_LOGS, RefusalLog } from "../../src/broker/refusal-log.ts";
import { LOG_EVERY_MS } from "../../src/broker/throttled-log.ts";
import { SendRefusalLog } from "../../src/broker/send-refusal-log.ts";

function probe() {
  const lines: Record<string, unknown>[] = [];
  let t = 1_000_000;
  const log = new RefusalLog({ info: (_: string, fields: Record<string, unknown>) => lines.push(fields) } as never, () => t);
  return { lines, log, tick: (ms: number) => (t += ms) };
}

test("per reason for anyone's refusals (a claimed key changes nothing); per member for replayed, revoked, capacity", () => {
  const { lines, log } = probe();
  for (let i = 0; i < 5; i++) log.note("bad_signature", `mesh key${i}`, { n: i });
  for (let i = 0; i < 5; i++) for (const reason of ["replayed", "revoked", "capacity"]) log.note(reason, `mesh key${i % 2}`, { reason, n: i });
  expect(lines.map((l) => l.n)).toEqual([0, 0, 0, 0, 1, 1, 1]);
});

test(`at most ${MAX_MEMBER_LOGS} member throttles: idle ones go first, then refusals share their reason's`, () => {
  const { lines, log, tick } = probe();
  for (let i = 0; i < MAX_MEMBER_LOGS; i++) log.note("replayed", `m${i}`, { i });
  log.note("replayed", "one more", { i: "more" }); // every throttle busy: the reason's, logged
  log.note("replayed", "and another", { i: "another" }); // the reason's, held back
  expect(lines.length).toBe(MAX_MEMBER_LOGS + 1);
  tick(LOG_EVERY_MS);
  log.note("replayed", "m0", { i: "m0 again" });
  log.note("replayed", "a new one", { i: "new" }); // idle throttles were dropped: it gets its own
  expect(lines.slice(-2)).toEqual([
    { i: "m0 again", notLoggedSinceLast: 0 },
    { i: "new", notLoggedSinceLast: 0 },
  ]);
});

test("refused sends are throttled per member too: a member refused a thousand times is named, not whoever was refused first", () => {
  const lines: Record<string, unknown>[] = [];
  const log = new SendRefusalLog({ info: (_: string, fields: Record<string, unknown>) => lines.push(fields) } as never, () => 1_000_000);
  log.note({ meshId: "m", memberId: "alice", reason: "mailbox" });
  for (let i = 0; i < 1000; i++) log.note({ meshId: "m", memberId: "mallory", reason: "mailbox" });
  // Before: one throttle per (mesh, reason), so alice's line stood for mallory's thousand.
  expect(lines.map((l) => l.memberId)).toEqual(["alice", "mallory"]);
});
