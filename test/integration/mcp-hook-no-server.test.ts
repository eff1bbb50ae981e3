// `claudemesh hook session-start` when no claudemesh MCP server runs for the session (docs/
// claude-code.md, the SessionStart row): with a mesh joined, the model is told why it has no mesh
// context and that `claudemesh doctor` finds out; with none joined (a project that does not use
// claudemesh), nothing. It printed `{}` in both cases before (src/cli/commands/hook.ts sessionStart).
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cliTeam } from "../helpers/cli.ts";
import { tempDir } from "../helpers/broker.ts";
import { hookInput, runHook, startHook, startMcp } from "../helpers/mcp.ts";

const start = (dir: string, session: string) => runHook(dir, "session-start", hookInput(session, "SessionStart"));

describe("SessionStart with no MCP server for the session", () => {
  test("a mesh joined: one line naming the mesh and `claudemesh doctor`, within the hook's budget", async () => {
    await using t = await cliTeam(["alice"]);
    const h = await start(t.dirs[0], "sess-no-server");
    expect(h.code).toBe(0);
    const ctx: string = h.out?.hookSpecificOutput?.additionalContext ?? "";
    expect(h.out).toEqual({ hookSpecificOutput: { hookEventName: "SessionStart", additionalContext: ctx } });
    expect(ctx).toStartWith(`claudemesh: this machine has joined mesh ${t.mesh.slug}, but no claudemesh MCP server answers for this session`);
    expect(ctx).toContain("`claudemesh doctor`");
    expect(h.stderr).toBe("");
    expect(h.ms).toBeLessThan(4000);
  }, 30_000);

  test("no mesh joined, or no config at all: nothing, at once", async () => {
    const none = tempDir("cm-hook-none-");
    const left = tempDir("cm-hook-left-");
    writeFileSync(join(left, "config.json"), JSON.stringify({ version: 1, meshes: [] }), { mode: 0o600 });
    for (const dir of [none, left]) {
      const h = await start(dir, "sess-no-mesh");
      expect({ code: h.code, out: h.out, stderr: h.stderr }).toEqual({ code: 0, out: {}, stderr: "" });
      expect(h.ms).toBeLessThan(1500); // no wait for a server when no mesh is joined
    }
  }, 30_000);

  test("a server starting beside the hook, as Claude Code starts both, is waited for: no false alarm", async () => {
    await using t = await cliTeam(["alice"]);
    const hook = startHook(t.dirs[0], "session-start", hookInput("sess-late", "SessionStart"));
    await using s = await startMcp(t.dirs[0], "sess-late");
    const [stdout, code] = await Promise.all([new Response(hook.stdout).text(), hook.exited]);
    expect(code).toBe(0);
    expect(stdout).not.toContain("no claudemesh MCP server answers");
    expect(s.stderr()).not.toContain("cannot listen");
  }, 30_000);
});
