// The asyncRewake hook (`claudemesh hook wait`, docs/claude-code.md) and a restart of the session's
// MCP server under it. Claude Code starts the hook at a Stop and keeps it running while the session
// is idle; `/mcp` (Reconnect) replaces the server, and after a crash the user's `/mcp` starts a new
// one (Claude Code 2.1.197 marks a crashed server failed and does not restart it: seen with the real
// CLI). The hook used to exit when its server went away, so nothing woke the idle session until
// the user typed. It now waits on the session's next server. Real broker on port 0, the real MCP
// server over stdio, the real hook as Claude Code runs it.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { cli, cliTeam, ok, until } from "../helpers/cli.ts";
import { hookInput, startHook, startMcp, waitConnected, type McpSession } from "../helpers/mcp.ts";

/** Resolves once `server` has taken a wait hook's request (its debug log says so), `n` in all. */
const waiting = (server: McpSession, n = 1) => until(() => server.stderr().split("a wait hook waits").length > n, "the wait hook to ask the server");

/** alice and bob; bob's session `sess-bob-w` has a server and an idle session's wait hook. */
async function idleBob() {
  const team = await cliTeam(["alice", "bob"]);
  const bob = team.dirs[1];
  const first = await startMcp(bob, "sess-bob-w", undefined, undefined, { CLAUDEMESH_DEBUG: "1" });
  await waitConnected(first);
  const hook = startHook(bob, "wait", hookInput("sess-bob-w", "Stop"), "pipe", { CLAUDE_CODE_ENTRYPOINT: "cli" });
  await waiting(first);
  return {
    ...team,
    alice: team.dirs[0],
    bob,
    first,
    hook,
    async [Symbol.asyncDispose]() {
      hook.kill();
      await first.close();
      await team[Symbol.asyncDispose]();
    },
  };
}

describe("the wait hook across a restart of the session's MCP server", () => {
  for (const [how, stop] of [
    ["/mcp (stdin closed, a new server at once)", (s: { first: { close(): Promise<void> } }) => s.first.close()],
    ["a crash (SIGKILL), then /mcp a while later", async (s: { first: { pid: number } }) => (process.kill(s.first.pid, "SIGKILL"), await Bun.sleep(2500))],
  ] as const) {
    test(`waits on the next server and wakes the session with what arrives: ${how}`, async () => {
      await using s = await idleBob();
      await stop(s as never);
      // Before: the hook had exited 0 when its server went away.
      expect(s.hook.exitCode).toBe(null);
      await using next = await startMcp(s.bob, "sess-bob-w", undefined, undefined, { CLAUDEMESH_DEBUG: "1" });
      await waitConnected(next);
      await waiting(next);
      ok(await cli(s.alice, ["send", "bob", "CI is red again"]));
      const [code, stderr] = await Promise.all([s.hook.exited, new Response(s.hook.stderr).text()]);
      expect({ code, woke: stderr.includes("CI is red again") }).toEqual({ code: 2, woke: true });
      expect((await next.call("mesh_inbox")).text).toBe("No new messages."); // shown by the hook
    }, 60_000);
  }

  test("a hook whose server went away ends with the Claude Code that ran it", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const bob = team.dirs[1];
    await using first = await startMcp(bob, "sess-bob-gone", undefined, undefined, { CLAUDEMESH_DEBUG: "1" });
    await waitConnected(first);
    // A stand-in for Claude Code: a process (not a shell) that starts the hook as its child.
    const script = `const h = Bun.spawn(${JSON.stringify([process.execPath, "run", `${import.meta.dir}/../../src/main.ts`, "hook", "wait"])}, { env: { ...process.env, CLAUDE_CODE_ENTRYPOINT: "cli" }, stdin: new TextEncoder().encode(${JSON.stringify(hookInput("sess-bob-gone", "Stop"))}), stdout: "ignore", stderr: "ignore" }); console.log(h.pid); await h.exited;`;
    const claude = Bun.spawn([process.execPath, "-e", script], { env: { ...process.env, CLAUDEMESH_CONFIG_DIR: bob }, stdout: "pipe" });
    const hookPid = await readPid(claude);
    await waiting(first);
    process.kill(first.pid, "SIGKILL");
    await Bun.sleep(1500);
    expect(alive(hookPid)).toBe(true); // waiting for the next server
    claude.kill("SIGKILL");
    await claude.exited;
    await until(() => !alive(hookPid), "the orphaned hook to end", 5000);
  }, 60_000);
});

/** The first line a process printed (its child's pid). */
async function readPid(p: { stdout: ReadableStream<Uint8Array> }): Promise<number> {
  const reader = p.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return Number(text.trim());
}

/** Whether `pid` runs (a zombie does not). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}
