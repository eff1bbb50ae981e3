// Discoverability: shell completions list the commands, and every command's --help works (and,
// as the CLI promises, shows an example). The command list comes from src/cli/root.ts and is
// checked against what `claudemesh --help` prints.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { cli, identities, cliTeam } from "../helpers/cli.ts";
import { COMMANDS, SUBCOMMANDS } from "../../src/cli/root.ts";
import { LATEST_VERSION } from "../../src/store/migrations.ts";
import { VERSION } from "../../src/version.ts";

const LOADED_PROBE = resolve(import.meta.dir, "../fixtures/loaded-modules.ts");
/** Modules a command should load only when it connects: the WebSocket client and the frame codec
 *  (which compiles every frame schema on load). */
const CONNECTING_MODULES = ["src/client/client.ts", "src/protocol/codec.ts"];

const HELPED = COMMANDS.filter((c) => c !== "serve");

/** Runs `fn` over `items`, `width` at a time (each item is a subprocess). */
async function pool<T, R>(items: readonly T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  }));
  return out;
}

describe("cli help and completion", () => {
  test("completion bash|zsh|fish print scripts naming the commands; tcsh is a usage error", async () => {
    await using ids = identities(1);
    const [dir] = ids.dirs as [string];
    const scripts: Record<string, string> = {};
    for (const shell of ["bash", "zsh", "fish"]) {
      const r = await cli(dir, ["completion", shell]);
      expect({ shell, code: r.code, stderr: r.stderr }).toEqual({ shell, code: 0, stderr: "" });
      for (const word of ["claudemesh", "inbox", "topic", "history"]) expect(`${shell}: ${r.stdout.includes(word)}`).toBe(`${shell}: true`);
      scripts[shell] = r.stdout;
    }
    const bash = { stdout: scripts.bash! };
    expect(bash.stdout).toContain("complete -o default -F _claudemesh claudemesh");
    // Second-level names come from the command tree, so admin's are there too.
    expect(bash.stdout).toContain('"admin 0") COMPREPLY=($(compgen -W "backup restore token" -- "$cur"))');
    expect(bash.stdout).toContain('"group 0") COMPREPLY=($(compgen -W "join leave list" -- "$cur"))');
    // `help` is a command word, and after it every command is.
    expect(bash.stdout).toContain(`" 0"|"help 0") COMPREPLY=($(compgen -W "${COMMANDS.join(" ")}" -- "$cur"))`);
    expect(scripts.fish).toContain(`-n "__claudemesh_nth 'help' 0" -a "${COMMANDS.join(" ")}"`);
    const tcsh = await cli(dir, ["completion", "tcsh"]);
    expect({ code: tcsh.code, stdout: tcsh.stdout, stderr: tcsh.stderr }).toEqual({ code: 2, stdout: "", stderr: 'claudemesh: Unknown shell "tcsh"; use bash, zsh or fish.\n  fix: see `claudemesh completion --help`\n' });
  }, 30_000);

  test("`claudemesh --help` lists every command, and each command's --help exits 0", async () => {
    await using ids = identities(1);
    const [dir] = ids.dirs as [string];
    const top = await cli(dir, ["--help"]);
    expect(top.code).toBe(0);
    expect(/USAGE claudemesh (\S+)/.exec(top.stdout)?.[1]?.split("|")).toEqual(COMMANDS);
    expect(top.stdout).toMatch(/^ +help +Show a command's help, as `<command> --help` does\./m);
    const results = await pool(HELPED, 4, async (c) => {
      const r = await cli(dir, [c, "--help"]);
      return { c, code: r.code, usage: r.stdout.includes(`USAGE claudemesh ${c}`), stderr: r.stderr };
    });
    expect(results).toEqual(HELPED.map((c) => ({ c, code: 0, usage: true, stderr: "" })));
  }, 60_000);

  // Every command path, serve and the second-level ones (`invite list`, `audit verify`) included:
  // the first-run review (L5) found six without an example.
  test("every command's --help shows an example, its full usage line and its full name", async () => {
    await using ids = identities(1);
    const [dir] = ids.dirs as [string];
    const paths = COMMANDS.flatMap((c) => [[c], ...(SUBCOMMANDS[c] ?? []).map((sub) => [c, sub])]);
    // Each also names itself in full on its usage line (citty gives `topic post` as "USAGE topic post")
    // and in its title, with the version (citty gives a subcommand's as "(topic post)").
    const problems = (
      await pool(paths, 4, async (p) => {
        const out = (await cli(dir, [...p, "--help"])).stdout;
        const title = `(claudemesh ${p.join(" ")} v${VERSION})`;
        const wrong = [!out.includes("Example: ") && "no example", !out.includes(`USAGE claudemesh ${p.join(" ")}`) && "usage line", !out.split("\n")[0]!.endsWith(title) && `title (not ${title})`].filter(Boolean);
        return wrong.length ? `${p.join(" ")}: ${wrong.join(", ")}` : null;
      })
    ).filter(Boolean);
    expect(problems).toEqual([]);
  }, 90_000);

  test("--help and commands that never connect do not load the broker client or the frame codec", async () => {
    await using team = await cliTeam(["alice"]);
    const { dirs: [alice] } = team;
    const heavy = async (args: string[]) => {
      const out = join(team.root, `loaded-${args.join("_")}.json`);
      const r = await cli(alice, args, { env: { BUN_OPTIONS: `--preload=${LOADED_PROBE}`, CLAUDEMESH_TEST_LOADED_OUT: out } });
      const loaded = JSON.parse(readFileSync(out, "utf8")) as string[];
      return { args, code: r.code, heavy: CONNECTING_MODULES.filter((m) => loaded.some((p) => p.endsWith(m))) };
    };
    const offline = [["--help"], ["whoami"], ["list"], ["completion", "bash"], ["inbox", "--all"]];
    expect(await Promise.all(offline.map(heavy))).toEqual(offline.map((args) => ({ args, code: 0, heavy: [] })));
    // A group name the protocol would refuse is caught before connecting.
    expect(await heavy(["group", "join", "Front End!"])).toEqual({ args: ["group", "join", "Front End!"], code: 2, heavy: [] });
    // The probe sees them when a command does connect.
    expect(await heavy(["peers"])).toEqual({ args: ["peers"], code: 0, heavy: CONNECTING_MODULES });
  }, 60_000);
});

describe("help and version as commands", () => {
  test("`help <command>` prints what `<command> --help` does; a word that is no command is a usage error", async () => {
    await using ids = identities(1);
    const [dir] = ids.dirs as [string];
    for (const words of [["send"], ["topic", "post"], ["topic"], []]) {
      const [asked, flagged] = await Promise.all([cli(dir, ["help", ...words]), cli(dir, [...words, "--help"])]);
      expect({ words, code: asked.code, stdout: asked.stdout }).toEqual({ words, code: 0, stdout: flagged.stdout });
    }
    const typo = await cli(dir, ["help", "sned"]);
    expect({ code: typo.code, stdout: typo.stdout, stderr: typo.stderr }).toEqual({ code: 2, stdout: "", stderr: 'claudemesh: Unknown command "sned" (did you mean `send`?).\n  fix: see `claudemesh --help`\n' });
    const deeper = await cli(dir, ["help", "topic", "nosuch"]);
    expect({ code: deeper.code, stderr: deeper.stderr }).toEqual({ code: 2, stderr: 'claudemesh: Unknown command "nosuch" of `claudemesh topic`.\n  fix: see `claudemesh topic --help`\n' });
    // `<typo> --help` is `help <typo>`: it printed the parent's help, exit 0, with no "did you mean".
    for (const words of [["sned"], ["topic", "psot"], ["topic", "nosuch"]]) {
      const [asked, flagged] = await Promise.all([cli(dir, ["help", ...words]), cli(dir, [...words, "--help"])]);
      expect({ words, code: flagged.code, stdout: flagged.stdout, stderr: flagged.stderr }).toEqual({ words, code: 2, stdout: "", stderr: asked.stderr });
    }
    expect((await cli(dir, ["topic", "psot", "-h"])).stderr).toBe('claudemesh: Unknown command "psot" of `claudemesh topic` (did you mean `post`?).\n  fix: see `claudemesh topic --help`\n');
    // An option's value is no command word.
    const [invite, inviteValued] = await Promise.all([cli(dir, ["invite", "--help"]), cli(dir, ["invite", "--max-uses", "3", "--help"])]);
    expect({ code: inviteValued.code, stdout: inviteValued.stdout }).toEqual({ code: 0, stdout: invite.stdout });
  }, 30_000);

  test("`help --help` and `help -h` are about help itself; `help send --help` about send", async () => {
    await using ids = identities(1);
    const [dir] = ids.dirs as [string];
    const [long, short, send, sendHelp] = await Promise.all([cli(dir, ["help", "--help"]), cli(dir, ["help", "-h"]), cli(dir, ["help", "send", "--help"]), cli(dir, ["send", "--help"])]);
    expect([long.code, long.stdout.split("\n").find((l) => l.startsWith("USAGE"))]).toEqual([0, "USAGE claudemesh help [OPTIONS] [COMMAND]"]);
    expect({ code: short.code, stdout: short.stdout }).toEqual({ code: 0, stdout: long.stdout });
    expect({ code: send.code, stdout: send.stdout }).toEqual({ code: 0, stdout: sendHelp.stdout });
  }, 30_000);

  test("`version` prints what --version does; --json adds Bun's and the schema's versions (no commit from source)", async () => {
    await using ids = identities(1);
    const [dir] = ids.dirs as [string];
    const [version, flag, json] = await Promise.all([cli(dir, ["version"]), cli(dir, ["--version"]), cli(dir, ["version", "--json"])]);
    expect({ code: version.code, stdout: version.stdout }).toEqual({ code: 0, stdout: flag.stdout });
    const pkg = JSON.parse(readFileSync(resolve(import.meta.dir, "../../package.json"), "utf8"));
    expect({ code: json.code, json: json.json() }).toEqual({ code: 0, json: { version: pkg.version, commit: null, bun: Bun.version, schemaVersion: LATEST_VERSION } });
  }, 30_000);
});
