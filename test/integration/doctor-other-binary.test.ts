// `claudemesh doctor` when Claude Code is set up for another claudemesh binary (an older install in
// another place, a checkout): the registration and the hooks are named as that other one's, with
// this one's beside it, never as "5 missing" (they are there) nor as a bare entry failing for no
// reason given. A command that leads to this very binary is this one: `claude mcp add … --
// claudemesh mcp`, as `mcp --help` shows, failed as "not this claudemesh" though PATH led to it.
import { BARE_PATH } from "../helpers/bare-path.ts";
import { expect, test } from "bun:test";
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, ok } from "../helpers/cli.ts";
import { tempDir } from "../helpers/temp-dir.ts";

// Without claude on PATH, install edits ~/.claude.json itself: no real Claude Code runs here.
const at = (h: string, args: string[]) => cli(join(h, ".claudemesh"), args, { env: { HOME: h, PATH: BARE_PATH }, timeoutMs: 60_000 });
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

test("a registration by bare name or symbolic link that leads to this binary passes; one that leads elsewhere fails", async () => {
  const h = tempDir("cm-doc-path-");
  ok(await at(h, ["install"]));
  const claudeJson = join(h, ".claude.json");
  const installed = JSON.parse(readFileSync(claudeJson, "utf8")).mcpServers.claudemesh;
  // From a checkout the launcher is `<bun> run <main.ts>`: its program is Bun, found here as `bun`.
  const linked = join(h, "linked");
  mkdirSync(linked);
  symlinkSync(installed.command, join(linked, "bun"));
  const other = join(h, "other");
  mkdirSync(other);
  writeFileSync(join(other, "bun"), "#!/bin/sh\n");
  chmodSync(join(other, "bun"), 0o755);
  const cases: [command: string, path: string, ok: boolean][] = [
    ["bun", `${linked}:/usr/bin:/bin`, true],
    [join(linked, "bun"), "/usr/bin:/bin", true],
    ["bun", `${other}:/usr/bin:/bin`, false],
    ["no-such-claudemesh", "/usr/bin:/bin", false],
  ];
  for (const [command, path, passes] of cases) {
    writeFileSync(claudeJson, JSON.stringify({ mcpServers: { claudemesh: { ...installed, command } } }));
    const r = await cli(join(h, ".claudemesh"), ["doctor", "--json"], { env: { HOME: h, PATH: path }, timeoutMs: 60_000 });
    const check = (r.json().checks as { check: string; ok: boolean; detail: string }[]).find((c) => c.check === "MCP registration")!;
    const text = [command, ...installed.args].join(" ");
    expect({ command, path, ok: check.ok, detail: check.detail }).toEqual({ command, path, ok: passes, detail: passes ? text : `${text}, not this claudemesh (${[installed.command, ...installed.args].join(" ")})` });
  }
}, 90_000);
