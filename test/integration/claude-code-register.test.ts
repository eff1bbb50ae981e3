// Registering the MCP server through the claude CLI: the environment (a config directory other than
// ~/.claudemesh) reaches the entry as it does when install edits ~/.claude.json itself, a changed
// environment counts as a changed entry, and a failed `claude mcp add` after the old entry was
// removed puts the old one back.
import { BARE_PATH } from "../helpers/bare-path.ts";
import { expect, test } from "bun:test";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { cli, ok } from "../helpers/cli.ts";
import { tempDir } from "../helpers/temp-dir.ts";

const BIN = resolve(import.meta.dir, "../../node_modules/.bin");
const entryOf = (h: string) => JSON.parse(readFileSync(join(h, ".claude.json"), "utf8")).mcpServers.claudemesh;

test("with the claude CLI, install passes the config directory on, and a new one re-registers", async () => {
  const h = tempDir("cm-home-");
  const install = (dir: string) => cli(dir, ["install", "--json"], { env: { HOME: h, CLAUDEMESH_CONFIG_DIR: dir, PATH: `${BIN}:${process.env.PATH}` }, timeoutMs: 90_000 });
  const first = join(h, "keys one");
  expect(ok(await install(first)).json().mcp).toMatchObject({ changed: true, via: "claude mcp add" });
  expect(entryOf(h).env).toEqual({ CLAUDEMESH_CONFIG_DIR: first });
  const second = join(h, "keys two");
  expect(ok(await install(second)).json().mcp).toMatchObject({ changed: true, via: "claude mcp add" });
  expect(entryOf(h).env).toEqual({ CLAUDEMESH_CONFIG_DIR: second });
  expect(ok(await install(second)).json().mcp.changed).toBe(false);
}, 180_000);

test("a failed `claude mcp add` puts the previous registration back and says so", async () => {
  const h = tempDir("cm-home-");
  const bin = join(h, "bin");
  mkdirSync(bin);
  // A claude that logs each call and refuses to add anything but the old entry's command.
  writeFileSync(join(bin, "claude"), `#!/bin/sh\necho "$*" >> "$HOME/claude.log"\ncase "$*" in *" add "*" -- /old/claudemesh "*) exit 0;; *" add "*) echo "boom" >&2; exit 1;; esac\n`);
  chmodSync(join(bin, "claude"), 0o755);
  const old = { type: "stdio", command: "/old/claudemesh", args: ["mcp"], env: { CLAUDEMESH_CONFIG_DIR: "/old/keys" } };
  writeFileSync(join(h, ".claude.json"), JSON.stringify({ mcpServers: { claudemesh: old } }));
  const r = await cli(join(h, ".claudemesh"), ["install"], { env: { HOME: h, PATH: `${bin}:/usr/bin:/bin` }, timeoutMs: 60_000 });
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 1, stderr: "claudemesh: claude mcp add failed (boom). The previous registration was put back.\n" });
  const calls = readFileSync(join(h, "claude.log"), "utf8").trim().split("\n");
  expect(calls[0]).toBe("mcp remove --scope user claudemesh");
  expect(calls[1]).toStartWith("mcp add --scope user claudemesh -- ");
  expect(calls[2]).toBe("mcp add --scope user claudemesh -e CLAUDEMESH_CONFIG_DIR=/old/keys -- /old/claudemesh mcp");
  expect(calls).toHaveLength(3);
}, 60_000);

test("install from a second config directory says which one's registration it replaced", async () => {
  const h = tempDir("cm-home-");
  // Without claude on PATH: install edits ~/.claude.json itself, the same entry either way.
  const install = (dir: string, json = false) => cli(dir, ["install", ...(json ? ["--json"] : [])], { env: { HOME: h, PATH: BARE_PATH } });
  const first = join(h, "keys one");
  const replacedLine = (stdout: string) => stdout.split("\n").filter((l) => l.startsWith("Replaced"));
  expect(replacedLine(ok(await install(first)).stdout)).toEqual([]);
  const home = join(h, ".claudemesh");
  expect(replacedLine(ok(await install(home)).stdout)).toEqual([`Replaced the registration that used ${first}: Claude Code sessions started from now on use ${home}.`]);
  expect(ok(await install(first, true)).json().mcp).toEqual({ registered: true, changed: true, via: "~/.claude.json", replaced: true, replacedLauncher: null, replacedConfigDir: home, kept: { label: null, env: [] } });
  // The same directory again replaces nothing.
  expect(replacedLine(ok(await install(first)).stdout)).toEqual([]);
}, 60_000);
