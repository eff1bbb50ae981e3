// `claudemesh doctor` from a shell whose config directory is not the one `claudemesh install` set
// Claude Code up for (a shell without the CLAUDEMESH_CONFIG_DIR install saw, or the reverse): the
// registration and the hooks are reported as installed for that other directory, with the doctor
// command that checks it, never as missing, and never with a bare `claudemesh install` (which
// would re-point Claude Code at this shell's directory, an empty one, and drop its --label).
import { BARE_PATH } from "../helpers/bare-path.ts";
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { cli, ok } from "../helpers/cli.ts";
import { shellCommand } from "../../src/config/command-line.ts";
import { tempDir } from "../helpers/temp-dir.ts";

// Without claude on PATH, install edits ~/.claude.json itself: no real Claude Code runs here.
const at = (h: string, dir: string, args: string[]) => cli(dir, args, { env: { HOME: h, PATH: BARE_PATH }, timeoutMs: 60_000 });

type Check = { check: string; ok: boolean; detail: string; fix: string | null };
const checksOf = (r: { json(): any }) => Object.fromEntries((r.json().checks as Check[]).map((c) => [c.check, c]));

const fixFor = (dir: string, current: string) =>
  `${shellCommand([`CLAUDEMESH_CONFIG_DIR=${dir}`])} claudemesh doctor checks that setup (run claudemesh install only from a shell that sets it: from this one it would switch Claude Code to ${current})`;

describe("doctor and the config directory install used", () => {
  test("installed for another directory: said so, with the doctor command for it; not missing", async () => {
    const h = tempDir("cm-doc-home-");
    const elsewhere = join(h, "bob's keys");
    const home = join(h, ".claudemesh");
    ok(await at(h, elsewhere, ["install", "--label", "api"]));

    const r = await at(h, home, ["doctor", "--json"]);
    expect(r.code).toBe(5);
    const c = checksOf(r);
    const fix = fixFor(elsewhere, home);
    expect(c.config).toEqual({ check: "config", ok: false, detail: `${join(home, "config.json")} does not exist`, fix });
    expect(c["MCP registration"]!.detail).toEndWith(`mcp --label api: for the config directory ${elsewhere}, not this shell's ${home} (CLAUDEMESH_CONFIG_DIR)`);
    expect(c["MCP registration"]!.fix).toBe(fix);
    expect(c.hooks).toEqual({ check: "hooks", ok: false, detail: `all installed in ${join(h, ".claude", "settings.json")}, for the config directory ${elsewhere}, not this shell's ${home} (CLAUDEMESH_CONFIG_DIR)`, fix });
    // The command given checks the setup that is there.
    const there = await at(h, elsewhere, ["doctor", "--json"]);
    expect([checksOf(there)["MCP registration"]!.ok, checksOf(there).hooks!.ok]).toEqual([true, true]);
  }, 90_000);

  test("installed for the default directory, doctor run with CLAUDEMESH_CONFIG_DIR set elsewhere", async () => {
    const h = tempDir("cm-doc-home-");
    const home = join(h, ".claudemesh");
    const other = join(h, "other");
    ok(await at(h, home, ["install"]));
    const c = checksOf(await at(h, other, ["doctor", "--json"]));
    const fix = fixFor(home, other);
    expect([c["MCP registration"]!.fix, c.hooks!.fix, c.config!.fix]).toEqual([fix, fix, fix]);
    expect(c.hooks!.detail).toStartWith("all installed in ");
  }, 90_000);

  test("nothing installed: still missing, and claudemesh install is the fix", async () => {
    const h = tempDir("cm-doc-home-");
    const c = checksOf(await at(h, join(h, ".claudemesh"), ["doctor", "--json"]));
    expect([c["MCP registration"], c.hooks, c.config!.fix]).toEqual([
      { check: "MCP registration", ok: false, detail: "not registered", fix: "claudemesh install" },
      { check: "hooks", ok: false, detail: `5 missing in ${join(h, ".claude", "settings.json")}`, fix: "claudemesh install" },
      "claudemesh join - (or claudemesh new <name> --broker URL)",
    ]);
  }, 60_000);
});
