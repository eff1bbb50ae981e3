// install against a ~/.claude/settings.json that is not valid JSON (a trailing comma, the mistake
// people make), is a directory, or sits below a file: refused with exit 5, the path and, for JSON,
// the line and column, and nothing written: ~/.claude.json stays as it was. A trailing comma was
// called "not a JSON object"; ~/.claude being a file let install register the MCP server in
// ~/.claude.json and then fail with "EEXIST: file already exists, mkdir".
import { BARE_PATH } from "../helpers/bare-path.ts";
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli } from "../helpers/cli.ts";
import { scratchDir } from "../preload.ts";

// Without claude on PATH: install edits ~/.claude.json itself, so "nothing written" is visible.
const install = (h: string, args: string[] = []) => cli(join(h, ".claudemesh"), ["install", ...args], { env: { HOME: h, PATH: BARE_PATH }, timeoutMs: 60_000 });

describe("Claude Code's settings.json that cannot be read as JSON", () => {
  test("a trailing comma: not valid JSON, at line 4 column 1; nothing written", async () => {
    const h = scratchDir("cm-home-");
    mkdirSync(join(h, ".claude"));
    const path = join(h, ".claude", "settings.json");
    const text = '{\n  "model": "opus",\n  "hooks": {},\n}\n';
    writeFileSync(path, text);
    const r = await install(h);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
      code: 5,
      stdout: "",
      stderr: `claudemesh: ${path} is not valid JSON (line 4, column 1: property name must be a string literal). Nothing was changed.\n  fix: fix or move it, then run this again\n`,
    });
    expect({ settings: readFileSync(path, "utf8"), claudeJson: existsSync(join(h, ".claude.json")) }).toEqual({ settings: text, claudeJson: false });
    const json = await install(h, ["--json"]);
    expect({ code: json.code, json: json.json() }).toEqual({ code: 5, json: { error: { code: "local_config", message: `${path} is not valid JSON (line 4, column 1: property name must be a string literal). Nothing was changed.`, fix: "fix or move it, then run this again" } } });
  }, 60_000);

  test("valid JSON that is not an object says so", async () => {
    const h = scratchDir("cm-home-");
    mkdirSync(join(h, ".claude"));
    const path = join(h, ".claude", "settings.json");
    writeFileSync(path, "[]\n");
    const r = await install(h);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 5, stderr: `claudemesh: ${path} holds JSON but not an object ({…}), as Claude Code expects. Nothing was changed.\n  fix: fix or move it, then run this again\n` });
  }, 60_000);

  test("settings.json a directory, or ~/.claude a file: named as such, and ~/.claude.json left alone", async () => {
    const h = scratchDir("cm-home-");
    mkdirSync(join(h, ".claude", "settings.json"), { recursive: true });
    const dir = join(h, ".claude", "settings.json");
    const r = await install(h);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 5, stderr: `claudemesh: ${dir} is a directory, not a file. Nothing was changed.\n  fix: move the directory ${dir} away, then run this again\n` });
    expect(existsSync(join(h, ".claude.json"))).toBe(false);

    const h2 = scratchDir("cm-home-");
    writeFileSync(join(h2, ".claude"), "not a directory\n");
    const r2 = await install(h2);
    expect({ code: r2.code, stderr: r2.stderr }).toEqual({
      code: 5,
      stderr: `claudemesh: Cannot read ${join(h2, ".claude", "settings.json")}: ${join(h2, ".claude")} is a file, not a directory. Nothing was changed.\n  fix: move that file away (Claude Code keeps a directory there), then run this again\n`,
    });
    expect({ claudeJson: existsSync(join(h2, ".claude.json")), file: readFileSync(join(h2, ".claude"), "utf8") }).toEqual({ claudeJson: false, file: "not a directory\n" });
  }, 60_000);
});

test("a refusal after `claude mcp remove` ran does not say that nothing was changed", async () => {
  // A claude whose `mcp remove` leaves ~/.claude.json as something uninstall cannot read back.
  const h = scratchDir("cm-home-");
  const bin = join(h, "bin");
  mkdirSync(bin);
  writeFileSync(join(bin, "claude"), `#!/bin/sh\necho '[]' > "$HOME/.claude.json"\n`);
  chmodSync(join(bin, "claude"), 0o755);
  const path = join(h, ".claude.json");
  writeFileSync(path, JSON.stringify({ mcpServers: { claudemesh: { type: "stdio", command: "claudemesh", args: ["mcp"], env: {} } } }));
  const r = await cli(join(h, ".claudemesh"), ["uninstall"], { env: { HOME: h, PATH: `${bin}:/usr/bin:/bin` }, timeoutMs: 60_000 });
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 5, stderr: `claudemesh: ${path} holds JSON but not an object ({…}), as Claude Code expects.\n  fix: fix or move it, then run this again\n` });
}, 60_000);
