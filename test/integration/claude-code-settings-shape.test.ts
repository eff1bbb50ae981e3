// install / uninstall / doctor against a ~/.claude/settings.json whose hooks are not the shape
// Claude Code reads: refused with the file and the key named (exit 5, a local file's problem, as
// for a file that is not JSON), before anything is written — the MCP server was registered first, then the hook edit
// crashed with a TypeError. A config directory of ours that is refused is refused as early.
// doctor reports it as a failed check. Well-formed hooks we do not know
// (other events, extra fields, empty lists) come back exactly as they were.
import { BARE_PATH } from "../helpers/bare-path.ts";
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli } from "../helpers/cli.ts";
import { tempDir } from "../helpers/temp-dir.ts";

/** A HOME with `settings` as ~/.claude/settings.json (text as given, or JSON). */
function homeWith(settings: unknown): string {
  const h = tempDir("cm-home-");
  mkdirSync(join(h, ".claude"));
  writeFileSync(join(h, ".claude", "settings.json"), typeof settings === "string" ? settings : JSON.stringify(settings, null, 2));
  return h;
}

// Without claude on PATH: install edits ~/.claude.json itself, so "nothing written" is visible.
const run = (h: string, args: string[]) => cli(join(h, ".claudemesh"), args, { env: { HOME: h, PATH: BARE_PATH }, timeoutMs: 60_000 });
const settingsOf = (h: string) => readFileSync(join(h, ".claude", "settings.json"), "utf8");

describe("Claude Code settings of an unexpected shape", () => {
  const cases: [settings: unknown, problem: string][] = [
    [{ hooks: { Stop: "notalist" } }, "hooks.Stop is not a list of matcher groups"],
    [{ hooks: { Stop: [{ hooks: "x" }] } }, "hooks.Stop[0].hooks is not a list of hooks"],
    [{ hooks: { Stop: [null] } }, "hooks.Stop[0] is not a matcher group object"],
    [{ hooks: { SessionStart: [{ hooks: [{ type: "command", command: "ok" }, 7] }] } }, "hooks.SessionStart[0].hooks[1] is not a hook object"],
    [{ hooks: ["Stop"] }, "hooks is not an object of hook events"],
  ];
  for (const [settings, problem] of cases) {
    test(`${JSON.stringify(settings)}: install and uninstall refuse and write nothing; doctor fails the check`, async () => {
      const h = homeWith(settings);
      const before = settingsOf(h);
      const path = join(h, ".claude", "settings.json");
      const message = `claudemesh: ${path}: ${problem}, as Claude Code expects. Nothing was changed.\n  fix: fix or move it, then run this again\n`;
      for (const command of ["install", "uninstall"]) {
        const r = await run(h, [command]);
        expect({ command, code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ command, code: 5, stdout: "", stderr: message });
        expect(existsSync(join(h, ".claude.json"))).toBe(false);
        expect(settingsOf(h)).toBe(before);
      }
      const doctor = await run(h, ["doctor", "--json"]);
      expect(doctor.code).toBe(5);
      expect(doctor.json().checks.find((c: { check: string }) => c.check === "hooks")).toEqual({ check: "hooks", ok: false, detail: `${path}: ${problem}, as Claude Code expects.`, fix: "fix or move the file, then run claudemesh install" });
    }, 60_000);
  }

  test("a settings file that is not JSON is refused before the MCP server is registered", async () => {
    const h = homeWith("{ not json");
    const r = await run(h, ["install"]);
    const path = join(h, ".claude", "settings.json");
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 5, stderr: `claudemesh: ${path} is not valid JSON (line 1, column 3: expected '}'). Nothing was changed.\n  fix: fix or move it, then run this again\n` });
    expect(existsSync(join(h, ".claude.json"))).toBe(false);
  }, 60_000);

  test("a config directory others can read is refused before Claude Code's files are touched", async () => {
    // install registered the MCP server and wrote the hooks, and only then read its own config and
    // refused the directory (exit 5): a failed command that had changed Claude Code's setup.
    const h = tempDir("cm-home-");
    const cfg = join(h, "altcfg");
    mkdirSync(cfg, { mode: 0o755 });
    chmodSync(cfg, 0o755); // whatever the umask
    const r = await cli(cfg, ["install"], { env: { HOME: h, PATH: BARE_PATH }, timeoutMs: 60_000 });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 5, stderr: `claudemesh: ${cfg} is readable by other users (mode 755); it holds private keys. Nothing was changed.\n  fix: chmod 700 ${cfg}\n` });
    expect([existsSync(join(h, ".claude.json")), existsSync(join(h, ".claude"))]).toEqual([false, false]);
  }, 60_000);

  test("hooks of other events, extra fields and empty lists survive install and uninstall untouched", async () => {
    const settings = {
      hooks: {
        FutureEvent: [{ matcher: "x", note: "kept", hooks: [{ type: "prompt", prompt: "hi", extra: 1 }] }],
        PreCompact: [],
        Notification: [{ hooks: [] }],
        SessionStart: [{ hooks: [{ type: "command", command: "mine" }], someday: true }],
      },
      other: { a: [1, 2] },
    };
    const h = homeWith(settings);
    expect((await run(h, ["install"])).code).toBe(0);
    const installed = JSON.parse(settingsOf(h));
    expect([installed.hooks.FutureEvent, installed.hooks.Notification, installed.hooks.SessionStart[0], installed.other]).toEqual([settings.hooks.FutureEvent, settings.hooks.Notification, settings.hooks.SessionStart[0], settings.other]);
    expect((await run(h, ["uninstall"])).code).toBe(0);
    expect(JSON.parse(settingsOf(h))).toEqual(settings);
  }, 60_000);
});
