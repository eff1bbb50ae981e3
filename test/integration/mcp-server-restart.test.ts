// Claude Code starting the claudemesh MCP server of a session again (`/mcp` reconnect, a crashed
// server restarted, an upgrade): the new server is the same peer (the same session key), and the
// session keeps what the old one gave it. The old one may still be shutting down when the new one
// starts (Claude Code closes its stdin and does not wait for it).
import { describe, expect, test } from "bun:test";
import { cliTeam, until } from "../helpers/cli.ts";
import { hookInput, runHook, startMcp, waitPeer } from "../helpers/mcp.ts";

describe("the MCP server of a session started again", () => {
  test("the old server exiting after the new one started leaves the hooks the new one's socket", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const [alice, bob] = team.dirs;
    await using a = await startMcp(alice, "sess-alice-again");
    const old = await startMcp(bob, "sess-bob-again");
    await old.call("mesh_peers");
    await waitPeer(a, "bob/app");
    await using fresh = await startMcp(bob, "sess-bob-again");
    await fresh.call("mesh_peers"); // connects, which ends the old server's connection (4004)
    // The old server says what happened and that it stays so: it never connects again.
    let said = "";
    await until(async () => (said = (await old.call("mesh_inbox")).text).includes("session_replaced") || said.includes("took over"), "the old server closed");
    expect({ tookOver: said.includes("took over"), reconnectHint: said.includes("once they reconnect") }).toEqual({ tookOver: true, reconnectHint: false });
    await old.close();

    expect((await a.call("mesh_send", { to: "bob/app", message: "after the restart" })).isError).toBe(false);
    await fresh.waitNotification((n) => n.content.includes("after the restart"));
    // The old server's exit removed the socket the new one listens on (both have the same path,
    // from the session id, and the same parent): no hook reached the new server again.
    const ups = await runHook(bob, "user-prompt-submit", hookInput("sess-bob-again", "UserPromptSubmit"));
    expect({ code: ups.code, context: ups.out?.hookSpecificOutput?.additionalContext ?? null }).toEqual({ code: 0, context: expect.stringContaining("> after the restart") });
  }, 60_000);

  test("mesh_reply answers, by its id, a question the previous server showed, and the asker gets the answer", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const [alice, bob] = team.dirs;
    await using a = await startMcp(alice, "sess-alice-reply");
    let b = await startMcp(bob, "sess-bob-reply");
    try {
      await b.call("mesh_peers");
      await waitPeer(a, "bob/app");
      const asked = a.call("mesh_ask", { to: "bob/app", question: "Which port?", timeout_seconds: 60 }).catch((err: Error) => ({ isError: true, text: err.message }));
      const pushed = await b.waitNotification((n) => n.content.includes("Which port?"));
      expect((await b.call("mesh_inbox")).text).toContain("> Which port?");
      // The model holds the question's id; the server it read it from is gone.
      await b.close();
      b = await startMcp(bob, "sess-bob-reply");
      const replied = await b.call("mesh_reply", { message_id: pushed.meta.message_id, message: "8080" });
      expect(replied).toEqual({ isError: false, text: expect.stringContaining('Replied to "alice/app"') });
      const answer = await asked;
      expect({ isError: answer.isError, answer: answer.text.includes("> 8080"), priority: answer.text.includes("priority now") }).toEqual({ isError: false, answer: true, priority: true });
    } finally {
      await b.close();
    }
  }, 60_000);

  test("the Stop hook still reminds of the questions the previous server showed, each once, and not of one answered", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const [alice, bob] = team.dirs;
    await using a = await startMcp(alice, "sess-alice-asks");
    let b = await startMcp(bob, "sess-bob-asks");
    // What the Stop hook's reminder lists, by question text ("… asked (id …): Q1?").
    const stop = async () => {
      const h = await runHook(bob, "stop", JSON.stringify({ session_id: "sess-bob-asks", hook_event_name: "Stop", stop_hook_active: false }));
      expect(h.code).toBe(0);
      return [...String(h.out?.hookSpecificOutput?.additionalContext ?? "").matchAll(/asked \(id [^)]+\): (Q\d)\?/g)].map((m) => m[1]);
    };
    const restart = async () => {
      await b.close();
      b = await startMcp(bob, "sess-bob-asks");
    };
    const ask = (q: string) => void a.call("mesh_ask", { to: "bob/app", question: `${q}?`, timeout_seconds: 120 }).catch(() => {});
    try {
      await b.call("mesh_peers");
      await waitPeer(a, "bob/app");
      ask("Q1");
      ask("Q2");
      const q1 = await b.waitNotification((n) => n.content.includes("Q1?"));
      await b.waitNotification((n) => n.content.includes("Q2?"));
      let read = "";
      await until(async () => (read += (await b.call("mesh_inbox")).text).includes("Q1?") && read.includes("Q2?"), "bob read both questions");
      await restart();
      expect(await stop()).toEqual(["Q1", "Q2"]);
      // Answered after a restart: the asker gets it, and it is no longer open.
      expect((await b.call("mesh_reply", { message_id: q1.meta.message_id, message: "yes" })).isError).toBe(false);
      await restart();
      ask("Q3");
      await b.waitNotification((n) => n.content.includes("Q3?"));
      await until(async () => (await b.call("mesh_inbox")).text.includes("Q3?"), "bob read Q3");
      // Q2 was listed before the restart, Q1 answered: only Q3.
      expect(await stop()).toEqual(["Q3"]);
    } finally {
      await b.close();
    }
  }, 90_000);
});
