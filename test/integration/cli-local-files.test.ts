// The CLI's own files when they are not what they should be: config.json a directory, damaged or
// empty; the config directory a file, or under one. Each is refused with exit 5, the path, what is
// wrong and a fix that works, never the file system's raw text ("EISDIR: illegal operation…"), a
// chmod that cannot help, "upgrade claudemesh" for an empty object, or "No meshes yet" with exit 0.
// Nothing is written on a refusal. The fix for a damaged config is followed to the end once: moved
// aside, `claudemesh restore` brings the identity back.
import { describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, cliTeam, identities, ok } from "../helpers/cli.ts";

const PASS = "correct horse battery staple\n";

/** A private config dir whose config.json holds `text` (or is a directory, for null). */
function configWith(root: string, name: string, text: string | null): { dir: string; config: string } {
  const dir = join(root, name);
  mkdirSync(dir, { mode: 0o700 });
  const config = join(dir, "config.json");
  if (text === null) mkdirSync(config, { mode: 0o755 });
  else writeFileSync(config, text, { mode: 0o600 });
  return { dir, config };
}

const damagedFix = (config: string) => `  fix: move it aside (mv ${config} ${config}.aside), then restore a backup (claudemesh restore FILE) or join your meshes again\n`;

describe("config.json that cannot be used", () => {
  test("a directory is called a directory (not 'readable by other users' with a chmod)", async () => {
    await using ids = identities(0);
    const { dir, config } = configWith(ids.root, "c", null);
    const r = await cli(dir, ["list"]);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
      code: 5,
      stdout: "",
      stderr: `claudemesh: The claudemesh config ${config} is a directory, not a file.\n  fix: move it aside (mv ${config} ${config}.aside), then run this again\n`,
    });
  }, 30_000);

  test("garbage, empty and {} are damaged files, with the path and the way back; --json too", async () => {
    await using ids = identities(0);
    const cases: [text: string, problem: string][] = [
      ["garbage\n", 'is not valid JSON (line 1, column 1: unexpected identifier …)'],
      ['{"version": 1, "meshes": [\n', "is not valid JSON (line 2, column 1: unexpected EOF)"],
      ["", "is empty"],
      ["{}\n", 'is damaged or not a claudemesh config (no "version" field; expected 1)'],
      ['{"version": "1", "meshes": []}', 'is damaged or not a claudemesh config ("version": "1"; expected 1)'],
      ['{"version": 1}', 'is damaged: "meshes" is not a list'],
    ];
    for (const [i, [text, problem]] of cases.entries()) {
      const { dir, config } = configWith(ids.root, `c${i}`, text);
      const r = await cli(dir, ["whoami"]);
      expect({ text, code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ text, code: 5, stdout: "", stderr: `claudemesh: ${config} ${problem}.\n${damagedFix(config)}` });
      expect(readFileSync(config, "utf8")).toBe(text);
    }
    const { dir, config } = configWith(ids.root, "json", "{}");
    const json = await cli(dir, ["peers", "--json"]);
    expect({ code: json.code, json: json.json() }).toEqual({ code: 5, json: { error: { code: "local_config", message: `${config} is damaged or not a claudemesh config (no "version" field; expected 1).`, fix: damagedFix(config).slice("  fix: ".length, -1) } } });
    // A newer claudemesh's file is the one case where upgrading is the fix.
    const newer = configWith(ids.root, "newer", '{"version": 2, "meshes": []}');
    const up = await cli(newer.dir, ["list"]);
    expect({ code: up.code, stderr: up.stderr }).toEqual({ code: 5, stderr: `claudemesh: ${newer.config} was written by a newer claudemesh (config version 2; this one reads version 1).\n  fix: upgrade claudemesh\n` });
  }, 60_000);

  test("doctor reports a damaged config as a failed check with its fix, instead of stopping", async () => {
    await using ids = identities(0);
    const { dir, config } = configWith(ids.root, "c", "{}");
    const home = join(ids.root, "home");
    mkdirSync(home);
    const r = await cli(dir, ["doctor", "--json"], { env: { HOME: home } });
    expect({ code: r.code, config: r.json().checks.find((c: { check: string }) => c.check === "config") }).toEqual({
      code: 5,
      config: { check: "config", ok: false, detail: `${config} is damaged or not a claudemesh config (no "version" field; expected 1).`, fix: damagedFix(config).slice("  fix: ".length, -1) },
    });
  }, 30_000);

  test("the fix for a damaged config works: moved aside, restore brings the identity back", async () => {
    await using team = await cliTeam(["alice"]);
    const { dirs: [alice], root } = team;
    const file = join(root, "alice.cmbk");
    ok(await cli(alice, ["backup", file, "--passphrase-stdin"], { stdin: PASS }), "backup");
    const config = join(alice, "config.json");
    writeFileSync(config, "{}");
    // restore itself reads the current config first, so "restore it from a backup" (the old fix)
    // stopped at the same file: the fix says to move it aside first.
    const refused = await cli(alice, ["restore", file, "--passphrase-stdin"], { stdin: PASS });
    expect({ code: refused.code, stderr: refused.stderr }).toEqual({ code: 5, stderr: `claudemesh: ${config} is damaged or not a claudemesh config (no "version" field; expected 1).\n${damagedFix(config)}` });
    renameSync(config, `${config}.aside`);
    const restored = await cli(alice, ["restore", file, "--passphrase-stdin", "--json"], { stdin: PASS });
    expect({ code: restored.code, json: restored.json() }).toEqual({ code: 0, json: { restored: [team.mesh.slug], notInBackup: [], keptKeys: [], previousConfig: null } });
    expect(ok(await cli(alice, ["whoami"])).stdout).toStartWith(`${team.mesh.slug}: alice (owner)`);
  }, 60_000);
});

describe("a config directory that is a file", () => {
  test("is called a file, for reading (not 'No meshes yet', exit 0) and for writing (not ENOTDIR)", async () => {
    await using ids = identities(0);
    // Named by CLAUDEMESH_CONFIG_DIR (as cli() runs every command): the variable is what to change;
    // moving the file was advised, whatever it was (`CLAUDEMESH_CONFIG_DIR=/etc/passwd`).
    const dir = join(ids.root, "not-a-dir");
    const expected = { code: 5, stdout: "", stderr: `claudemesh: CLAUDEMESH_CONFIG_DIR names ${dir}, a file, not a directory: claudemesh keeps its config and keys in a directory.\n  fix: set CLAUDEMESH_CONFIG_DIR to a directory of your own (unset, it is ~/.claudemesh)\n` };
    for (const mode of [0o600, 0o644]) {
      writeFileSync(dir, "notes\n", { mode });
      chmodSync(dir, mode);
      for (const args of [["list"], ["new", "team", "--broker", "http://127.0.0.1:9"]]) {
        const r = await cli(dir, args);
        expect({ mode: mode.toString(8), args, code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ mode: mode.toString(8), args, ...expected });
      }
    }
    expect({ text: readFileSync(dir, "utf8"), siblings: readdirSync(ids.root) }).toEqual({ text: "notes\n", siblings: ["not-a-dir"] });
    // The default ~/.claudemesh is claudemesh's own place: that file is moved aside.
    const home = join(ids.root, "home");
    const own = join(home, ".claudemesh");
    mkdirSync(home);
    writeFileSync(own, "notes\n");
    const r = await cli(dir, ["list"], { env: { CLAUDEMESH_CONFIG_DIR: "", HOME: home } });
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 5, stdout: "", stderr: `claudemesh: ${own} is a file, not a directory: claudemesh keeps its config and keys in a directory there.\n  fix: move it aside (mv ${own} ${own}.aside), or set CLAUDEMESH_CONFIG_DIR to a directory of your own\n` });
  }, 60_000);

  test("a config directory below a file names that file", async () => {
    await using ids = identities(0);
    const file = join(ids.root, "file");
    writeFileSync(file, "x");
    const dir = join(file, "claudemesh");
    const r = await cli(dir, ["list"]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 5, stderr: `claudemesh: Cannot read the claudemesh config directory ${dir}: ${file} is a file, not a directory.\n  fix: set CLAUDEMESH_CONFIG_DIR to a directory of your own\n` });
  }, 30_000);
});
