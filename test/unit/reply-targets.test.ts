// Who sent the messages a session was shown, as the replay file keeps them (src/mcp/reply-targets.ts):
// what is saved comes back, what is not well-formed is skipped, and the bounds hold.
import { describe, expect, test } from "bun:test";
import { MAX_REPLY_TARGETS, ReplyTargets, SAVED_REPLY_TARGETS } from "../../src/mcp/reply-targets.ts";

const from = (name: string) => ({ name, pubkey: "a".repeat(64), memberPubkey: "b".repeat(64), memberId: "member-0001" });
const id = (i: number) => `message-${String(i).padStart(6, "0")}`;

describe("ReplyTargets", () => {
  test("what is saved comes back", () => {
    const t = new ReplyTargets();
    t.add(id(1), { from: from("bob/api"), ask: true });
    t.add(id(2), { from: from("carol"), ask: false });
    const back = new ReplyTargets(JSON.parse(JSON.stringify(t.toJson())));
    expect([back.get(id(1)), back.get(id(2))]).toEqual([{ from: from("bob/api"), ask: true }, { from: from("carol"), ask: false }]);
  });

  test("entries that are not well-formed are skipped; the rest are kept", () => {
    const good = [id(1), "a".repeat(64), "b".repeat(64), "member-0001", "bob", true];
    const t = new ReplyTargets([good, [id(2), "not-a-key", "b".repeat(64), "m", "x", false], [id(3)], "junk", null]);
    expect(t.toJson()).toEqual([good as never]);
    expect(new ReplyTargets({ not: "an array" }).toJson()).toEqual([]);
  });

  test(`keeps the newest ${MAX_REPLY_TARGETS} in memory and saves the newest ${SAVED_REPLY_TARGETS}`, () => {
    const t = new ReplyTargets();
    for (let i = 0; i <= MAX_REPLY_TARGETS; i++) t.add(id(i), { from: from("p"), ask: false });
    expect([t.get(id(0)), t.get(id(1)) !== undefined]).toEqual([undefined, true]);
    const saved = t.toJson();
    expect([saved.length, saved.at(-1)![0]]).toEqual([SAVED_REPLY_TARGETS, id(MAX_REPLY_TARGETS)]);
  });
});
