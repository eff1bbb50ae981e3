// The wake hook (`claudemesh hook wait`, docs/claude-code.md "What wakes an idle session") waits
// as long as its session is idle, not 30 minutes, so it must stay cheap and end on its own:
// Claude Code starts one at every Stop and ends none at a new prompt (seen with the real CLI,
// claude-wake.test.ts), so a session's newer wake hook replaces its older one; and a hook whose
// Claude Code is gone ends, even while a server still answers it. Real broker on port 0, the real
// MCP server over stdio, the real hook started as Claude Code starts it.
import { describe, expect, test } from "bun:test";
import { cli, cliTeam, ok, until } from "../helpers/cli.ts";
import { startMcp, waitConnected, type McpSession } from "../helpers/mcp.ts";
import { standInClaude } from "../helpers/stand-in-claude.ts";
import { processAlive as alive } from "../../src/mcp/process-tree.ts";
import { WAKE_WAIT_MS } from "../../src/mcp/wake-wait.ts";

/** Resolves once `server` has taken `n` wait requests in all (its debug log says so). */
const waiting = (server: McpSession, n = 1) => until(() => server.stderr().split("a wait hook waits").length > n, `${n} wait request(s) at the server`);

/** alice and bob, and bob's session `sess` with its server (debug log on). */
async function bobsSession(sess: string) {
  const team = await cliTeam(["alice", "bob"]);
  const server = await startMcp(team.dirs[1], sess, undefined, undefined, { CLAUDEMESH_DEBUG: "1" });
  await waitConnected(server);
  return {
    alice: team.dirs[0],
    bob: team.dirs[1],
    server,
    async [Symbol.asyncDispose]() {
      await server.close();
      await team[Symbol.asyncDispose]();
    },
  };
}

describe("the wake hook waits as long as the session is idle, one per Claude Code", () => {
  test("it asks the server to wait for days, not 30 minutes", async () => {
    await using s = await bobsSession("sess-long");
    await using claude = standInClaude(s.bob);
    await claude.hook("wait", "sess-long");
    await waiting(s.server);
    const asked = Number(s.server.stderr().match(/a wait hook waits[^\n]*"timeoutMs":(\d+)/)?.[1]);
    // Before: 1,800,000 (30 minutes).
    expect(asked).toBeGreaterThan(WAKE_WAIT_MS - 60_000);
    expect(WAKE_WAIT_MS).toBeGreaterThan(20 * 24 * 3600_000);
  }, 60_000);

  test("a newer wake hook of the same Claude Code ends the older one; the newer wakes the session", async () => {
    await using s = await bobsSession("sess-turns");
    await using claude = standInClaude(s.bob);
    const first = await claude.hook("wait", "sess-turns");
    await waiting(s.server, 1);
    // The next turn's Stop: Claude Code starts another wake hook and leaves the first running.
    const second = await claude.hook("wait", "sess-turns");
    await waiting(s.server, 2);
    // Before: the first kept waiting (one process per turn, each for up to 30 minutes).
    expect(await Promise.race([first.ended, Bun.sleep(3000).then(() => "still waiting")])).toEqual({ code: 0, stderr: "" });
    ok(await cli(s.alice, ["send", "bob", "the deploy is green"]));
    const woke = await second.ended;
    expect({ code: woke.code, shown: woke.stderr.includes("the deploy is green") }).toEqual({ code: 2, shown: true });
    expect((await s.server.call("mesh_inbox")).text).toBe("No new messages."); // shown by the hook
  }, 60_000);

  test("a wake hook of another Claude Code on the same server is left waiting", async () => {
    // The same session open in two terminals: both Claude Codes' hooks reach the newest server.
    await using s = await bobsSession("sess-twice");
    await using one = standInClaude(s.bob);
    await using two = standInClaude(s.bob);
    const a = await one.hook("wait", "sess-twice");
    await waiting(s.server, 1);
    const b = await two.hook("wait", "sess-twice");
    await waiting(s.server, 2);
    await Bun.sleep(1000);
    expect({ a: alive(a.pid), b: alive(b.pid) }).toEqual({ a: true, b: true });
    ok(await cli(s.alice, ["send", "bob", "hello both"]));
    const ends = await Promise.all([a.ended, b.ended]);
    // One of them shows the message; the other, handed nothing, ends quietly.
    expect(ends.map((e) => e.code).sort()).toEqual([0, 2]);
  }, 60_000);

  test("a waiting hook ends once its Claude Code is gone, though its server still answers", async () => {
    await using s = await bobsSession("sess-orphan");
    const claude = standInClaude(s.bob);
    const hook = await claude.hook("wait", "sess-orphan");
    await waiting(s.server);
    // Killed with no chance to end its hooks (kill -9; Claude Code 2.1.197 at /exit too). The
    // server is the test's, so it stays: the hook has only its Claude Code to go by.
    await claude[Symbol.asyncDispose]();
    // Before: it waited for a message (up to 30 minutes), and woke nobody.
    await until(() => !alive(hook.pid), "the orphaned hook to end", 15_000);
    ok(await cli(s.alice, ["send", "bob", "nobody there"]));
    await Bun.sleep(300);
    expect((await s.server.call("mesh_inbox")).text).toContain("nobody there"); // still unread
  }, 60_000);
});
