// claudemesh install / uninstall / doctor against a temporary HOME with the real Claude Code CLI
// (npm @anthropic-ai/claude-code, a dev dependency): after install, `claude mcp list` spawns our
// server and reports it connected; a second install changes nothing; uninstall removes exactly
// what install added and leaves the user's other settings untouched.
import { BARE_PATH } from "../helpers/bare-path.ts";
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { startBroker } from "../helpers/broker.ts";
import { cli, ok } from "../helpers/cli.ts";
import { tempDir } from "../helpers/temp-dir.ts";

const ROOT = resolve(import.meta.dir, "../..");
const BIN = join(ROOT, "node_modules/.bin");

function home() {
  return tempDir("cm-home-");
}

const envFor = (h: string, withClaude = true) => ({ HOME: h, CLAUDEMESH_CONFIG_DIR: join(h, ".claudemesh"), PATH: withClaude ? `${BIN}:${process.env.PATH}` : BARE_PATH });
const run = (h: string, args: string[], withClaude = true) => cli(join(h, ".claudemesh"), args, { env: envFor(h, withClaude), timeoutMs: 90_000 });

function claude(h: string, args: string[]) {
  const p = Bun.spawnSync([join(BIN, "claude"), ...args], { cwd: h, env: { ...process.env, ...envFor(h) }, stdout: "pipe", stderr: "pipe", timeout: 90_000 });
  return { code: p.exitCode, out: p.stdout.toString() + p.stderr.toString() };
}

/** A HOME where the user already has their own Claude Code settings, hooks and MCP servers. */
function userFiles(h: string) {
  mkdirSync(join(h, ".claude"), { recursive: true });
  // (Not "model": Claude Code itself migrates that key out of settings.json on any `claude mcp` run.)
  const settings = { env: { TEAM: "shop" }, permissions: { allow: ["Bash(ls:*)"] }, hooks: { Stop: [{ hooks: [{ type: "command", command: "say done" }] }], PreToolUse: [{ matcher: "Bash", hooks: [{ type: "command", command: "audit-bash" }] }] } };
  const claudeJson = { mcpServers: { other: { type: "stdio", command: "/usr/bin/other-server", args: [], env: {} } }, numStartups: 3 };
  writeFileSync(join(h, ".claude", "settings.json"), JSON.stringify(settings, null, 2));
  writeFileSync(join(h, ".claude.json"), JSON.stringify(claudeJson, null, 2));
  return { settings, claudeJson };
}

const readJson = (p: string) => JSON.parse(readFileSync(p, "utf8"));

describe("install, uninstall, doctor with the real claude CLI", () => {
  test("install registers a server that claude mcp list reports connected; again is a no-op; uninstall restores", async () => {
    await using b = await startBroker();
    const h = home();
    const original = userFiles(h);
    expect((await run(h, ["new", "Team", "--broker", b.url, "--display-name", "alice"])).code).toBe(0);

    const first = await run(h, ["install", "--json"]);
    expect(first.code).toBe(0);
    expect(first.json()).toMatchObject({ mcp: { changed: true, via: "claude mcp add" }, hooks: { changed: true } });
    const list = claude(h, ["mcp", "list"]);
    expect(list.out).toMatch(/claudemesh: .* mcp - ✔ Connected/);
    expect(list.out).toContain("other:");
    // Its health check (Claude Code gives it a session id of its own) left no peer and no key.
    expect(claude(h, ["mcp", "list"]).out).toMatch(/claudemesh: .* mcp - ✔ Connected/);
    const peers = ok(await run(h, ["peers", "--all", "--json"])).json().peers as { kind: string }[];
    expect(peers.filter((p) => p.kind === "session")).toEqual([]);
    const sessions = join(h, ".claudemesh", "sessions");
    expect(existsSync(sessions) ? readdirSync(sessions, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length : 0).toBe(0);
    const settings = readJson(join(h, ".claude", "settings.json"));
    expect({ env: settings.env, permissions: settings.permissions }).toEqual({ env: original.settings.env, permissions: original.settings.permissions });
    expect(settings.hooks.PreToolUse).toEqual(original.settings.hooks.PreToolUse);
    expect(settings.hooks.Stop[0]).toEqual(original.settings.hooks.Stop[0]);
    expect(JSON.stringify(settings.hooks)).toContain('"asyncRewake":true');

    const doctor = await run(h, ["doctor", "--json"]);
    expect({ code: doctor.code, ok: doctor.json().ok }).toEqual({ code: 0, ok: true });

    const before = [readFileSync(join(h, ".claude", "settings.json"), "utf8"), readFileSync(join(h, ".claude.json"), "utf8")];
    const second = await run(h, ["install", "--json"]);
    expect(second.json()).toMatchObject({ mcp: { changed: false }, hooks: { changed: false } });
    expect([readFileSync(join(h, ".claude", "settings.json"), "utf8"), readFileSync(join(h, ".claude.json"), "utf8")]).toEqual(before);

    const gone = await run(h, ["uninstall", "--json"]);
    expect(gone.json()).toMatchObject({ mcp: { removed: true }, hooks: { changed: true } });
    expect(claude(h, ["mcp", "list"]).out).not.toContain("claudemesh");
    expect(readJson(join(h, ".claude", "settings.json"))).toEqual(original.settings);
    expect(readJson(join(h, ".claude.json")).mcpServers).toEqual(original.claudeJson.mcpServers);

    const after = await run(h, ["doctor", "--json"]);
    expect(after.code).toBe(5);
    const failed = after.json().checks.filter((c: any) => !c.ok);
    expect(failed.map((c: any) => [c.check, c.fix])).toEqual([
      ["MCP registration", "claudemesh install"],
      ["hooks", "claudemesh install"],
    ]);
  }, 180_000);

  test("without claude on PATH, install edits ~/.claude.json after a backup", async () => {
    const h = home();
    userFiles(h);
    const r = await run(h, ["install", "--json"], false);
    expect(r.code).toBe(0);
    expect(r.json().mcp.via).toBe("~/.claude.json");
    expect(readJson(join(h, ".claude.json")).mcpServers).toMatchObject({ other: { command: "/usr/bin/other-server" }, claudemesh: { type: "stdio", args: expect.arrayContaining(["mcp"]) } });
    expect(existsSync(join(h, ".claude.json.claudemesh-backup"))).toBe(true);
    expect((await run(h, ["install", "--json"], false)).json()).toMatchObject({ mcp: { changed: false }, hooks: { changed: false } });
    const u = await run(h, ["uninstall", "--json"], false);
    expect(u.json().mcp.removed).toBe(true);
    expect(Object.keys(readJson(join(h, ".claude.json")).mcpServers)).toEqual(["other"]);
  }, 120_000);

  test("a config directory other than ~/.claudemesh is passed on to the MCP server and the hooks; doctor agrees", async () => {
    await using b = await startBroker();
    const h = home();
    userFiles(h);
    const elsewhere = join(h, "keys elsewhere");
    const env = { HOME: h, CLAUDEMESH_CONFIG_DIR: elsewhere, PATH: BARE_PATH };
    const at = (args: string[]) => cli(elsewhere, args, { env, timeoutMs: 90_000 });
    ok(await at(["new", "Team", "--broker", b.url, "--display-name", "alice"]));
    const r = ok(await at(["install"]));
    expect(r.stdout).toContain(`Claude Code sessions use the config directory ${elsewhere} (passed on as CLAUDEMESH_CONFIG_DIR).`);
    expect(readJson(join(h, ".claude.json")).mcpServers.claudemesh.env).toEqual({ CLAUDEMESH_CONFIG_DIR: elsewhere });
    const hooks = Object.values(readJson(join(h, ".claude", "settings.json")).hooks as Record<string, { hooks: { command: string }[] }[]>).flatMap((gs) => gs.flatMap((g) => g.hooks.map((x) => x.command)));
    const ours = hooks.filter((c) => c.includes(" hook "));
    expect(ours.length).toBeGreaterThan(0);
    for (const c of ours) expect(c).toStartWith(`env 'CLAUDEMESH_CONFIG_DIR=${elsewhere}' `);
    expect(ok(await at(["doctor", "--json"])).json().ok).toBe(true);
    const gone = ok(await at(["uninstall"])).stdout;
    expect(gone).toContain(`Your meshes and keys in ${elsewhere} are untouched`);
    // Uninstall saves the file it changes, as install does, and says so.
    expect(gone).toContain(`Removed claudemesh hooks from ${join(h, ".claude", "settings.json")} (the previous file is saved as settings.json.claudemesh-backup).`);
  }, 120_000);

  test("a settings file that is not JSON is reported and left alone", async () => {
    const h = home();
    mkdirSync(join(h, ".claude"), { recursive: true });
    writeFileSync(join(h, ".claude", "settings.json"), "{ not json");
    const r = await run(h, ["install"], false);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain("settings.json is not valid JSON (line 1, column 3: ");
    expect(readFileSync(join(h, ".claude", "settings.json"), "utf8")).toBe("{ not json");
  }, 60_000);
});
