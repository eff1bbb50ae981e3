// `claudemesh install` run again from another binary (an upgrade to another path, a checkout after
// the release binary) replaces the one registration Claude Code has: it says so, with what the old
// one ran, in words and in --json, instead of the "Registered…" of a first install.
import { BARE_PATH } from "../helpers/bare-path.ts";
import { expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, MAIN, ok } from "../helpers/cli.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { shellCommand } from "../../src/config/command-line.ts";

// Without claude on PATH, install edits ~/.claude.json itself: no real Claude Code runs here.
const install = (h: string, args: string[] = []) => cli(join(h, ".claudemesh"), ["install", ...args], { env: { HOME: h, PATH: BARE_PATH } });
const firstLine = (stdout: string) => stdout.split("\n")[0];
const oldBinary = (h: string) => writeFileSync(join(h, ".claude.json"), JSON.stringify({ mcpServers: { claudemesh: { type: "stdio", command: "/opt/old place/claudemesh", args: ["mcp"], env: {} } } }));
const THIS = shellCommand([process.execPath, "run", MAIN]);

test("install over a registration from another binary says it replaced it, and what it ran", async () => {
  const h = tempDir("cm-home-");
  expect(firstLine(ok(await install(h)).stdout)).toBe("Registered the claudemesh MCP server for your user (~/.claude.json).");

  oldBinary(h);
  expect(firstLine(ok(await install(h)).stdout)).toBe(
    `Re-registered the claudemesh MCP server for your user (~/.claude.json), replacing the previous registration, which ran '/opt/old place/claudemesh': Claude Code sessions started from now on run ${THIS}.`,
  );
  expect(JSON.parse(readFileSync(join(h, ".claude.json"), "utf8")).mcpServers.claudemesh.args).toEqual(["run", MAIN, "mcp"]);

  oldBinary(h);
  expect(ok(await install(h, ["--json"])).json().mcp).toEqual({
    registered: true, changed: true, via: "~/.claude.json", replaced: true, replacedLauncher: "'/opt/old place/claudemesh'", replacedConfigDir: null, kept: { label: null, env: [] },
  });
  // The same binary with another label replaces it too, with nothing to say about where from.
  const relabel = ok(await install(h, ["--label", "api", "--json"])).json().mcp;
  expect({ replaced: relabel.replaced, replacedLauncher: relabel.replacedLauncher }).toEqual({ replaced: true, replacedLauncher: null });
  expect(firstLine(ok(await install(h, ["--label", "web"])).stdout)).toBe("Re-registered the claudemesh MCP server for your user (~/.claude.json), replacing the previous registration.");
  // Unchanged: nothing replaced.
  expect(ok(await install(h, ["--label", "web", "--json"])).json().mcp).toMatchObject({ changed: false, replaced: false, replacedLauncher: null });
}, 60_000);
