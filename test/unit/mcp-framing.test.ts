// How messages are sized for the model (src/mcp/framing.ts): tools get whole bodies, as many
// messages as fit one tool result but always at least one; a hook gets previews, and reports which
// messages it showed whole (read) and which cut short (still unread).
import { describe, expect, test } from "bun:test";
import { MAX_TOOL_TEXT_CHARS, PREVIEW_BODY_CHARS, frameBatch, frameMessage, frameWhole } from "../../src/mcp/framing.ts";
import type { Pending } from "../../src/mcp/mesh-link.ts";

const msg = (id: string, body: string): Pending => ({
  messageId: id, meshId: "mesh_framing1", kind: "direct", from: { name: "alice", pubkey: "a1".repeat(32), memberPubkey: "a1".repeat(32), memberId: "mbr_alice01" },
  to: "b2".repeat(32), topic: null, topicOffset: null, priority: "next", createdAt: 1, replyTo: null, clientMessageId: `c-${id}-0000`, body, ask: false, mesh: "team",
});

describe("framing", () => {
  test("whole keeps every character; preview cuts at PREVIEW_BODY_CHARS and says so", () => {
    const long = msg("long-0001", "y".repeat(PREVIEW_BODY_CHARS) + "TAIL");
    expect(frameMessage(long, "whole")).toContain(`${"y".repeat(PREVIEW_BODY_CHARS)}TAIL\n-----`);
    const preview = frameMessage(long, "preview");
    expect(preview).not.toContain("TAIL");
    expect(preview).toContain(`Only the first ${PREVIEW_BODY_CHARS} of ${PREVIEW_BODY_CHARS + 4} characters are shown here. The message stays unread: call mesh_inbox to read it whole.`);
  });

  test("a broker notice is framed as the broker's, never as a peer's message to answer", () => {
    const n = { ...msg("notice-01", '{"event":"message_expired","messageId":"m1"}'), kind: "system" as const };
    const text = frameMessage(n, "whole");
    expect(text).toStartWith("Notice from the claudemesh broker (mesh team), id notice-01. It is not from your user or a peer");
    expect(text).not.toContain("Message from peer");
    expect(text).not.toContain("mesh_reply");
    // A broker's words are bounded like a preview, whatever the size asked for.
    const long = frameMessage({ ...n, body: "z".repeat(PREVIEW_BODY_CHARS * 3) }, "whole");
    expect(long.length).toBeLessThan(PREVIEW_BODY_CHARS + 400);
  });

  test("frameWhole fits messages into one tool result, the first always whole", () => {
    const big = (id: string) => msg(id, "z".repeat(MAX_TOOL_TEXT_CHARS * 0.4));
    const r = frameWhole([big("big-00001"), big("big-00002"), big("big-00003")]);
    expect(r.shown.map((m) => m.messageId)).toEqual(["big-00001", "big-00002"]);
    const huge = frameWhole([msg("huge-0001", "h".repeat(MAX_TOOL_TEXT_CHARS + 10))]);
    expect({ shown: huge.shown.length, whole: huge.text.includes("h".repeat(MAX_TOOL_TEXT_CHARS + 10)) }).toEqual({ shown: 1, whole: true });
  });

  test("frameBatch: short messages count as read, cut ones as previewed", () => {
    const r = frameBatch([msg("short-001", "hi"), msg("long-0002", "x".repeat(PREVIEW_BODY_CHARS + 1))]);
    expect({ ids: r.ids, previewed: r.previewed, more: r.more }).toEqual({ ids: ["short-001"], previewed: ["long-0002"], more: 0 });
    expect(r.text).toStartWith("claudemesh: 2 new peer messages.");
  });
});
