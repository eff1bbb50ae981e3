// The replies a session was shown, as the replay file keeps them (src/mcp/shown-replies.ts): what
// is read back, what is skipped, and the bound.
import { describe, expect, test } from "bun:test";
import { MAX_SHOWN_REPLIES, ShownReplies } from "../../src/mcp/shown-replies.ts";

const Q = "question-0000001";
const M = "message-00000001";

describe("ShownReplies", () => {
  test("round-trips through the file's form; the first reply of a question counts", () => {
    const r = new ShownReplies();
    expect(r.add(Q, { messageId: M, fromName: "bob/app", by: "mesh_ask" })).toBe(true);
    expect(r.add(Q, { messageId: "message-00000002", fromName: "bob/app", by: "hook" })).toBe(false);
    const back = new ShownReplies(JSON.parse(JSON.stringify(r.toJson())));
    expect(back.get(Q)).toEqual({ messageId: M, fromName: "bob/app", by: "mesh_ask" });
  });

  test("malformed entries are skipped, not fatal", () => {
    const saved = [[Q, M, "bob", "mesh_inbox"], ["bad id", M, "x", "hook"], [Q + "2", M, 7, "hook"], [Q + "3", M, "x", "elsewhere"], "junk", [Q + "4", M, "x"]];
    const r = new ShownReplies(saved);
    expect(r.toJson()).toEqual([[Q, M, "bob", "mesh_inbox"]]);
    expect(new ShownReplies({ not: "an array" }).toJson()).toEqual([]);
  });

  test(`keeps the newest ${MAX_SHOWN_REPLIES}`, () => {
    const r = new ShownReplies();
    for (let i = 0; i <= MAX_SHOWN_REPLIES; i++) r.add(`question-${String(i).padStart(6, "0")}`, { messageId: M, fromName: "b", by: "hook" });
    expect(r.toJson().length).toBe(MAX_SHOWN_REPLIES);
    expect(r.get("question-000000")).toBeUndefined();
    expect(r.get(`question-${String(MAX_SHOWN_REPLIES).padStart(6, "0")}`)).toBeDefined();
  });
});
