// `claudemesh install --label X`: the label is written into Claude Code's MCP config and shown to
// every peer after the display name (`alice/backend`). Printable text of 1–32 characters is
// accepted (trimmed); control characters, escape sequences, bidirectional and invisible characters,
// an empty or overlong label are a usage error (exit 2) that says what is allowed, before anything
// is written.
import { BARE_PATH } from "../helpers/bare-path.ts";
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cli } from "../helpers/cli.ts";

/** A temporary HOME (Claude Code's files live under it), removed at the end of the scope. */
function tempHome() {
  const h = mkdtempSync(join(tmpdir(), "cm-label-"));
  return { h, [Symbol.dispose]: () => rmSync(h, { recursive: true, force: true }) };
}

// Without claude on PATH, install edits ~/.claude.json itself: no real Claude Code runs here.
const install = (h: string, args: string[]) => cli(join(h, ".claudemesh"), ["install", ...args], { env: { HOME: h, PATH: BARE_PATH } });

/** What the command wrote under HOME (Bun keeps a cache of its own in ~/.bun). */
const written = (h: string) => readdirSync(h).filter((f) => f !== ".bun");

const ALLOWED = "--label takes 1–32 characters of printable text";

describe("install --label", () => {
  test.each([
    ["an escape sequence (retitles the terminal)", "\x1b]0;pwned\x07", "U+001B"],
    ["a line break", "back\nend", "U+000A"],
    ["a C1 control character", "next\u0085line", "U+0085"],
    ["a right-to-left override", "safe\u202etxt.exe", "U+202E"],
    ["a zero-width space", "back\u200bend", "U+200B"],
    ["an empty label", "", "it was empty"],
    ["only spaces", "   ", "it was empty"],
    ["33 characters", "x".repeat(33), "this one has 33"],
  ])("refuses %s with exit 2, writing nothing", async (_what, label, detail) => {
    using home = tempHome();
    const r = await install(home.h, ["--label", label]);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr, written: written(home.h) }).toEqual({
      code: 2,
      stdout: "",
      stderr: expect.stringMatching(new RegExp(`^claudemesh: ${ALLOWED} \\(letters, digits, spaces, punctuation\\), e\\.g\\. --label backend; .*${detail.replace(/[+]/g, "\\+")}`)),
      written: [],
    });
    const json = await install(home.h, ["--label", label, "--json"]);
    expect({ code: json.code, json: json.json(), written: written(home.h) }).toEqual({ code: 2, json: { error: { code: "usage", message: expect.stringContaining(ALLOWED), fix: "see `claudemesh install --help`" } }, written: [] });
  }, 30_000);

  test("accepts printable text, trimmed, and registers it as given", async () => {
    using home = tempHome();
    const r = await install(home.h, ["--label", "  café api-v2 (β) ", "--json"]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const args: string[] = JSON.parse(readFileSync(join(home.h, ".claude.json"), "utf8")).mcpServers.claudemesh.args;
    expect(args.slice(-3)).toEqual(["mcp", "--label", "café api-v2 (β)"]);
    const longest = await install(home.h, ["--label", "y".repeat(32), "--json"]);
    expect({ code: longest.code, changed: longest.json().mcp.changed }).toEqual({ code: 0, changed: true });
    expect(existsSync(join(home.h, ".claude", "settings.json"))).toBe(true);
  }, 30_000);
});

// A re-run of install (to repair the hooks, from a shell with another CLAUDEMESH_CONFIG_DIR)
// replaces the registration: it keeps the label and the variables the user put in it, and says so;
// a --label given now replaces the old one.
describe("install again keeps the previous registration's choices", () => {
  const entryOf = (h: string) => JSON.parse(readFileSync(join(h, ".claude.json"), "utf8")).mcpServers.claudemesh;
  const keptLines = (stdout: string) => stdout.split("\n").filter((l) => /^(Kept|Replaced the label|Dropped)/.test(l));

  test("without --label: the old label and the variables a user added stay; doctor counts them as right", async () => {
    using home = tempHome();
    expect((await install(home.h, ["--label", "api"])).code).toBe(0);
    // A variable added by hand (or with claude mcp add -e), beside install's own.
    const claudeJson = JSON.parse(readFileSync(join(home.h, ".claude.json"), "utf8"));
    claudeJson.mcpServers.claudemesh.env = { CLAUDEMESH_DEBUG: "1" };
    writeFileSync(join(home.h, ".claude.json"), JSON.stringify(claudeJson));
    const other = join(home.h, "other keys");
    const again = await cli(other, ["install"], { env: { HOME: home.h, PATH: BARE_PATH } });
    expect({ code: again.code, kept: keptLines(again.stdout) }).toEqual({
      code: 0,
      kept: ['Kept the label "api" from the previous registration (claudemesh install --label <name> gives another).', "Kept the MCP server's environment from the previous registration: CLAUDEMESH_DEBUG=1."],
    });
    expect(entryOf(home.h)).toMatchObject({ args: expect.arrayContaining(["mcp", "--label", "api"]), env: { CLAUDEMESH_DEBUG: "1", CLAUDEMESH_CONFIG_DIR: other } });
    // The same run once more changes nothing and still says what it kept.
    const json = (await cli(other, ["install", "--json"], { env: { HOME: home.h, PATH: BARE_PATH } })).json();
    expect(json.mcp).toEqual({ registered: true, changed: false, via: null, replaced: false, replacedLauncher: null, replacedConfigDir: null, kept: { label: "api", env: ["CLAUDEMESH_DEBUG"] } });
    const doctor = (await cli(other, ["doctor", "--json"], { env: { HOME: home.h, PATH: BARE_PATH } })).json();
    expect(doctor.checks.find((c: { check: string }) => c.check === "MCP registration")).toMatchObject({ ok: true });
  }, 60_000);

  test("--label given again replaces the old one, and says so", async () => {
    using home = tempHome();
    expect((await install(home.h, ["--label", "api"])).code).toBe(0);
    const r = await install(home.h, ["--label", "web"]);
    expect({ code: r.code, kept: keptLines(r.stdout), args: entryOf(home.h).args.slice(-3) }).toEqual({ code: 0, kept: ['Replaced the label "api" with "web".'], args: ["mcp", "--label", "web"] });
  }, 30_000);
});
