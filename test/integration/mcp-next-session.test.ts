// Claude Code started after a peer wrote: the message sent to the member while no session ran is
// shown in the next session (docs/claude-code.md, "How a message reaches the model"), with the
// real CLI sending and a real MCP client driving the real server over stdio.
import { describe, expect, test } from "bun:test";
import { cli, cliTeam, ok } from "../helpers/cli.ts";
import { hookInput, runHook, startMcp } from "../helpers/mcp.ts";

describe("mcp: the next session", () => {
  test("a DM sent while bob ran no session reaches his next one, once, and stays in his terminal's inbox", async () => {
    await using team = await cliTeam(["alice", "bob"], { presenceGrace: 0 });
    const [alice, bob] = team.dirs;
    ok(await cli(alice!, ["send", "bob", "the build is red, can you look?"]), "alice's send");

    {
      await using first = await startMcp(bob!, "sess-bob-morning");
      // Claude Code's SessionStart hook connects the session and tells the model what waits.
      const start = await runHook(bob!, "session-start", hookInput("sess-bob-morning", "SessionStart"));
      expect(start.out?.hookSpecificOutput?.additionalContext ?? "").toContain("1 unread message(s)");
      const shown = await first.waitNotification((n) => n.content.includes("the build is red"));
      expect(shown.content).toContain('Message from peer "alice"');
      // Read through the tool as well: it is the session's own now.
      expect((await first.call("mesh_inbox")).text).toContain("the build is red");
    }
    // A later session is not told again: the first one had it.
    {
      await using second = await startMcp(bob!, "sess-bob-afternoon");
      await second.call("mesh_peers"); // in use, and connected
      const inbox = await second.call("mesh_inbox");
      expect(inbox.text).not.toContain("the build is red");
      expect(second.notifications.filter((n) => n.content.includes("the build is red"))).toEqual([]);
    }
    // The terminal keeps what was addressed to the member.
    const inbox = ok(await cli(bob!, ["inbox", "--json"]), "bob's inbox").json();
    expect(JSON.stringify(inbox)).toContain("the build is red");
  }, 60_000);

  test("a health check that connected and was handed the message gives it back to the real session", async () => {
    await using team = await cliTeam(["alice", "bob"], { presenceGrace: 0 });
    const [alice, bob] = team.dirs;
    ok(await cli(alice!, ["send", "bob", "are you there?"]), "alice's send");
    {
      // `claude mcp list` with a session id of its own, slow enough to outlive the connect grace:
      // it is given the message (pushed to it) and exits unused.
      await using check = await startMcp(bob!, crypto.randomUUID());
      await check.waitNotification((n) => n.content.includes("are you there?"));
    }
    await using real = await startMcp(bob!, "sess-bob-real");
    await real.waitNotification((n) => n.content.includes("are you there?"));
  }, 60_000);
});
