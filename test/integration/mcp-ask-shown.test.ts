// A mesh_ask retried (the same client_message_id) after its reply was already shown whole: by the
// wake hook (printed and confirmed), by mesh_inbox, or by the earlier call itself. It waited out its
// whole timeout and said "No reply", though the peer had answered and the model had read it; it
// now says at once that the reply was shown, where, with its id and sender, and does not repeat it.
// A new question (no client_message_id) still waits for its own reply. Also: mesh_inbox waits for
// a hand-out made while it waited for another, instead of showing what that hook prints. All
// failed before their fix (src/mcp/meshes.ts shownReply and handOutsSettled, mesh-link.ts ask).
import { describe, expect, test } from "bun:test";
import { stillWaiting, times, twoSessions } from "../helpers/mcp-ask.ts";
import { startMcp, waitPeer } from "../helpers/mcp.ts";

/** Asserts `r` is mesh_ask's "already replied" answer naming `messageId`, said `how`, fast. */
function alreadyReplied(r: { text: string; isError: boolean }, messageId: string, how: string, ms: number) {
  expect(r.isError).toBe(false);
  expect(r.text).toMatch(/^"bob" \(\w+\) already replied \(message id \S+ from "bob\/app", answering question id \S+\): /);
  expect(r.text).toContain(`message id ${messageId} `);
  expect(r.text).toContain(how);
  expect(times(r.text)).toBe(0); // not shown again
  expect(ms).toBeLessThan(10_000); // not its 30 s timeout
}

describe("mcp: mesh_ask retried after its reply was shown", () => {
  test("shown by the wake hook: the retry says so at once; a new question still waits for its reply", async () => {
    await using s = await twoSessions("shown-hook");
    await s.answeredWhileNotWaiting("shownAsk-hook-000001");
    const batch = await s.hookWait();
    expect(times(batch.text)).toBe(1);
    await s.hookSeen(batch); // printed whole and confirmed: read
    const started = performance.now();
    const r = await s.ask("shownAsk-hook-000001");
    alreadyReplied(r, batch.ids[0]!, "claudemesh's hook showed it to you", performance.now() - started);
    expect((await s.a.call("mesh_inbox")).text).toBe("No new messages.");

    const asking = s.ask(null, 30, "And which host?");
    expect(await stillWaiting(asking, 1000)).toBe(true);
    await s.bobAnswers("And which host?", "host db1");
    const fresh = await asking;
    expect(fresh.text).toStartWith('Reply from "bob');
    expect(times(fresh.text, "host db1")).toBe(1);
  }, 60_000);

  test("shown by mesh_inbox, then by an earlier mesh_ask: each retry says where", async () => {
    await using s = await twoSessions("shown-inbox");
    await s.answeredWhileNotWaiting("shownAsk-inbox-00001");
    const inbox = await s.a.call("mesh_inbox");
    expect(times(inbox.text)).toBe(1);
    const id = /id (\S+)\./.exec(inbox.text)![1]!;
    let started = performance.now();
    alreadyReplied(await s.ask("shownAsk-inbox-00001"), id, "mesh_inbox returned it to you", performance.now() - started);

    const first = s.ask("shownAsk-asked-00001", 30, "Which branch?");
    await s.bobAnswers("Which branch?", "branch main");
    expect(times((await first).text, "branch main")).toBe(1);
    started = performance.now();
    const again = await s.ask("shownAsk-asked-00001", 30, "Which branch?");
    expect(again.text).toContain("an earlier mesh_ask call returned it to you");
    expect(times(again.text, "branch main")).toBe(0);
    expect(performance.now() - started).toBeLessThan(10_000);
  }, 60_000);
});

describe("mcp: mesh_ask retried after its MCP server restarted", () => {
  // The replies shown are saved with the replay memory (src/mcp/shown-replies.ts); they were kept
  // in memory only, and the retry waited out its timeout and said "No reply".
  test("the retry says the reply was shown, at once, not repeating it", async () => {
    await using s = await twoSessions("shown-restart");
    const first = s.ask("shownAsk-restart-001", 30, "Which region?");
    await s.bobAnswers("Which region?", "region eu");
    const r = await first;
    expect(times(r.text, "region eu")).toBe(1);
    await s.a.close(); // Claude Code restarts the server (/mcp reconnect): same session, same key
    await using again = await startMcp(s.alice, s.aliceSession);
    await waitPeer(again, "bob/app");
    const started = performance.now();
    const retry = await again.call("mesh_ask", { to: "bob", question: "Which region?", client_message_id: "shownAsk-restart-001", timeout_seconds: 15 });
    expect(retry.text).toMatch(/^"bob" \(\w+\) already replied \(message id \S+ from "bob\/app", answering question id \S+\): an earlier mesh_ask call returned it to you/);
    expect(times(retry.text, "region eu")).toBe(0);
    expect(performance.now() - started).toBeLessThan(10_000);
  }, 60_000);
});

describe("mcp: mesh_inbox and hooks", () => {
  test("a message handed to a hook while mesh_inbox waited for another hook is not shown by the inbox too", async () => {
    await using s = await twoSessions("inbox-handout");
    expect((await s.bb.call("mesh_send", { to: "alice", message: "first note" })).isError).toBe(false);
    await s.a.waitNotification((n) => n.content.includes("first note"));
    const hookA = await s.hookWait(); // holds "first note"
    expect(times(hookA.text, "first note")).toBe(1);
    const reading = s.a.call("mesh_inbox");
    expect(await stillWaiting(reading, 1000)).toBe(true); // waits for hook A
    expect((await s.bb.call("mesh_send", { to: "alice", message: "second note" })).isError).toBe(false);
    const hookB = await s.hookWait(); // handed "second note" while the inbox waits
    expect(times(hookB.text, "second note")).toBe(1);
    await s.hookSeen(hookA);
    await s.hookSeen(hookB);
    const inbox = await reading;
    // Before the fix the inbox read right after hook A's confirmation, showing what hook B prints.
    expect(times(inbox.text, "second note") + times(hookB.text, "second note")).toBe(1);
    expect(inbox.text).toBe("No new messages.");
  }, 60_000);
});
