// Hooks of a Claude Code started inside another one's Bash tool (`claude -p --strict-mcp-config …`,
// a script that runs claude), which has no claudemesh MCP server of its own: they must not reach the
// outer session's server (docs/claude-code.md, "Hooks talk to the session's MCP server"). A hook
// whose session has no socket looks for the server of the Claude Code process that runs it, its
// nearest ancestor that is not a shell; the walk used to go on past it, to the outer session, whose
// messages the nested session's prompt then took and whose SessionEnd took it off its meshes.
import { expect, test } from "bun:test";
import { resolve } from "node:path";
import { cli, cliTeam } from "../helpers/cli.ts";
import { hookInput, runHook, startMcp, waitConnected } from "../helpers/mcp.ts";

const MAIN = resolve(import.meta.dir, "../../src/main.ts");

/** Runs `claudemesh hook <event>` as a nested Claude Code would: from a process of its own (not a
 *  shell) started by this test process, which stands for the outer Claude Code, through `sh -c`. */
async function nestedHook(configDir: string, event: string, input: Record<string, unknown>): Promise<unknown> {
  const hook = `${process.execPath} run ${MAIN} hook ${event}`;
  const claudeB = `const p = Bun.spawn(["sh", "-c", ${JSON.stringify(hook)}], { stdin: new TextEncoder().encode(${JSON.stringify(JSON.stringify(input))}), stdout: "pipe", env: { ...process.env, CLAUDEMESH_CONFIG_DIR: ${JSON.stringify(configDir)} } }); process.stdout.write(await new Response(p.stdout).text()); await p.exited;`;
  const p = Bun.spawn([process.execPath, "-e", claudeB], { stdout: "pipe", stderr: "inherit" });
  const out = (await new Response(p.stdout).text()).trim();
  return out ? JSON.parse(out) : null;
}

test("a nested Claude Code's hooks leave the outer session's messages and meshes alone", async () => {
  await using t = await cliTeam(["alice", "bob"]);
  const [alice, bob] = t.dirs;
  await using a = await startMcp(alice, "sess-outer");
  await waitConnected(a);
  expect((await cli(bob, ["send", "alice/app", "-p", "now", "for the outer session"])).code).toBe(0);
  await a.waitNotification((n) => n.content.includes("for the outer session"));

  const inner = (event: string, extra: Record<string, unknown> = {}) => nestedHook(alice, event, { session_id: "sess-inner", cwd: "/work/projects/app", hook_event_name: event, ...extra });
  expect(await inner("session-start")).toEqual({ hookSpecificOutput: { hookEventName: "SessionStart", additionalContext: expect.stringContaining("no claudemesh MCP server answers for this session") } });
  expect(await inner("user-prompt-submit")).toEqual({});
  expect(await inner("stop")).toEqual({});
  expect(await inner("session-end", { reason: "other" })).toEqual({});

  // The outer session still has its message, and its mesh.
  expect((await a.call("mesh_inbox")).text).toContain("> for the outer session");
  expect((await a.call("mesh_peers")).isError).toBe(false);
  // After /clear, the outer session's own hooks (a new session id, run by the outer Claude Code
  // itself) still reach its server.
  expect((await cli(bob, ["send", "alice/app", "after clear"])).code).toBe(0);
  await a.waitNotification((n) => n.content.includes("after clear"));
  const own = await runHook(alice, "user-prompt-submit", hookInput("sess-outer-cleared", "UserPromptSubmit"));
  expect(own.out?.hookSpecificOutput?.additionalContext).toContain("> after clear");
}, 60_000);
