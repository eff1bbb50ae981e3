// `claudemesh doctor` when Claude Code is set up for another claudemesh binary (an older install in
// another place, a checkout): the registration and the hooks are named as that other one's, with
// this one's beside it, never as "5 missing" (they are there) nor as a bare entry failing for no
// reason given.
import { expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, ok } from "../helpers/cli.ts";
import { tempDir } from "../helpers/temp-dir.ts";

// Without claude on PATH, install edits ~/.claude.json itself: no real Claude Code runs here.
const at = (h: string, args: string[]) => cli(join(h, ".claudemesh"), args, { env: { HOME: h, PATH: "/usr/bin:/bin" }, timeoutMs: 60_000 });
const OLD = "/opt/old/claudemesh";

/** Rewrites what install wrote so that it starts OLD instead of this claudemesh. */
function moveTo(h: string): string {
  const claudeJson = join(h, ".claude.json");
  const reg = JSON.parse(readFileSync(claudeJson, "utf8"));
  const entry = reg.mcpServers.claudemesh;
  const mine = [entry.command, ...entry.args.slice(0, -1)].join(" ");
  Object.assign(entry, { command: OLD, args: ["mcp"] });
  writeFileSync(claudeJson, JSON.stringify(reg));
  const settingsJson = join(h, ".claude", "settings.json");
  writeFileSync(settingsJson, readFileSync(settingsJson, "utf8").replace(/"command": "[^"]*? hook /g, `"command": "${OLD} hook `));
  return mine;
}

test("hooks and registration of another claudemesh are named as such, with install as the fix", async () => {
  const h = tempDir("cm-doc-other-");
  ok(await at(h, ["install"]));
  const mine = moveTo(h);
  const r = await at(h, ["doctor", "--json"]);
  const checks: Record<string, unknown> = Object.fromEntries((r.json().checks as { check: string }[]).map((c) => [c.check, c]));
  const fix = "claudemesh install, run as the claudemesh Claude Code should start (it replaces the other one)";
  expect({ code: r.code, mcp: checks["MCP registration"], hooks: checks.hooks }).toEqual({
    code: 5,
    mcp: { check: "MCP registration", ok: false, detail: `${OLD} mcp, not this claudemesh (${mine} mcp)`, fix },
    hooks: { check: "hooks", ok: false, detail: `installed in ${join(h, ".claude", "settings.json")} for another claudemesh (${OLD}), not this one (${mine})`, fix },
  });
  // The fix given works: install replaces the other one's entries with this one's.
  ok(await at(h, ["install"]));
  const after = Object.fromEntries((((await at(h, ["doctor", "--json"])).json().checks) as { check: string; ok: boolean }[]).map((c) => [c.check, c.ok]));
  expect([after["MCP registration"], after.hooks]).toEqual([true, true]);
}, 90_000);
