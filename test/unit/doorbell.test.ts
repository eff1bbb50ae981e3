// The channel doorbell's budget (src/mcp/doorbell.ts) on a clock the test moves: a burst of
// DOORBELL_NOTIFICATIONS_PER_MINUTE notifications and DOORBELL_CHARS_PER_MINUTE characters,
// refilled over a minute; past it one notice, repeated only after the model read. (The integration
// test, mcp-bounds, cannot count exactly: the real clock refills while it runs.)
import { describe, expect, test } from "bun:test";
import { DOORBELL_CHARS_PER_MINUTE, DOORBELL_NOTICE, DOORBELL_NOTIFICATIONS_PER_MINUTE, Doorbell } from "../../src/mcp/doorbell.ts";
import { PREVIEW_BODY_CHARS, frameMessage } from "../../src/mcp/framing.ts";
import type { Pending } from "../../src/mcp/mesh-link.ts";

const msg = (n: number, body = `m${n}`): Pending => ({
  messageId: `msg-${n}`, meshId: "mesh_doorbell1", kind: "direct", from: { name: "alice", pubkey: "a1".repeat(32), memberPubkey: "a1".repeat(32), memberId: "mbr_alice01" },
  to: "b2".repeat(32), topic: null, topicOffset: null, priority: "now", createdAt: 1, replyTo: null, clientMessageId: `c-${n}-00000`, body, ask: false, mesh: "team",
});

/** A doorbell on a clock at 0 that `advance` moves; `rung` lists what it rang: a message id, or "notice". */
function bell() {
  let nowMs = 0;
  const rung: string[] = [];
  const d = new Doorbell((content, meta) => rung.push(content === DOORBELL_NOTICE ? "notice" : meta.message_id!), () => nowMs);
  return { d, rung, advance: (ms: number) => void (nowMs += ms) };
}

describe("doorbell", () => {
  test("a burst rings DOORBELL_NOTIFICATIONS_PER_MINUTE, then one notice; the rest only after a refill", () => {
    const { d, rung, advance } = bell();
    for (let i = 0; i < 30; i++) d.message(msg(i));
    const burst = Array.from({ length: DOORBELL_NOTIFICATIONS_PER_MINUTE }, (_, i) => `msg-${i}`);
    expect(rung).toEqual([...burst, "notice"]);
    // One notification's worth comes back after a tenth of a minute, not half-way.
    advance(30_000 / DOORBELL_NOTIFICATIONS_PER_MINUTE);
    d.message(msg(30));
    advance(30_000 / DOORBELL_NOTIFICATIONS_PER_MINUTE);
    d.message(msg(31));
    d.message(msg(32));
    expect(rung).toEqual([...burst, "notice", "msg-31"]);
  });

  test("characters are budgeted too: large messages stop before DOORBELL_CHARS_PER_MINUTE", () => {
    const { d, rung } = bell();
    const body = "A".repeat(PREVIEW_BODY_CHARS); // the longest preview
    const size = frameMessage(msg(0, body), "preview").length;
    for (let i = 0; i < DOORBELL_NOTIFICATIONS_PER_MINUTE; i++) d.message(msg(i, body));
    const fit = Math.floor(DOORBELL_CHARS_PER_MINUTE / size);
    expect(fit).toBeLessThan(DOORBELL_NOTIFICATIONS_PER_MINUTE); // the characters, not the count, stop these
    expect(rung).toEqual([...Array.from({ length: fit }, (_, i) => `msg-${i}`), "notice"]);
  });

  test("the notice is told again only after the model read", () => {
    const { d, rung } = bell();
    for (let i = 0; i < DOORBELL_NOTIFICATIONS_PER_MINUTE + 2; i++) d.message(msg(i));
    d.read();
    d.message(msg(100));
    d.message(msg(101));
    expect(rung.filter((r) => r === "notice")).toHaveLength(2);
    expect(rung.at(-1)).toBe("notice");
  });
});
