// Discoverability: shell completions list the commands, and every command's --help works (and,
// as the CLI promises, shows an example). The command list comes from src/cli/root.ts and is
// checked against what `claudemesh --help` prints.
import { describe, expect, test } from "bun:test";
import { cli, identities } from "../helpers/cli.ts";
import { COMMANDS } from "../../src/cli/root.ts";

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
    for (const shell of ["bash", "zsh", "fish"]) {
      const r = await cli(dir, ["completion", shell]);
      expect({ shell, code: r.code, stderr: r.stderr }).toEqual({ shell, code: 0, stderr: "" });
      for (const word of ["claudemesh", "inbox", "topic", "history"]) expect(`${shell}: ${r.stdout.includes(word)}`).toBe(`${shell}: true`);
    }
    const bash = await cli(dir, ["completion", "bash"]);
    expect(bash.stdout).toContain("complete -F _claudemesh claudemesh");
    // Second-level names come from the command tree, so admin's are there too.
    expect(bash.stdout).toContain('admin) COMPREPLY=($(compgen -W "backup restore token" -- "$cur"))');
    const tcsh = await cli(dir, ["completion", "tcsh"]);
    expect({ code: tcsh.code, stdout: tcsh.stdout, stderr: tcsh.stderr }).toEqual({ code: 2, stdout: "", stderr: 'claudemesh: Unknown shell "tcsh"; use bash, zsh or fish.\n  fix: see `claudemesh <command> --help`\n' });
  }, 30_000);

  test("`claudemesh --help` lists every command, and each command's --help exits 0", async () => {
    await using ids = identities(1);
    const [dir] = ids.dirs as [string];
    const top = await cli(dir, ["--help"]);
    expect(top.code).toBe(0);
    expect(/USAGE claudemesh (\S+)/.exec(top.stdout)?.[1]?.split("|")).toEqual(COMMANDS);
    const results = await pool(HELPED, 4, async (c) => {
      const r = await cli(dir, [c, "--help"]);
      return { c, code: r.code, usage: r.stdout.includes(`USAGE claudemesh ${c}`), stderr: r.stderr };
    });
    expect(results).toEqual(HELPED.map((c) => ({ c, code: 0, usage: true, stderr: "" })));
  }, 60_000);

  test("every command's --help shows an example", async () => {
    await using ids = identities(1);
    const [dir] = ids.dirs as [string];
    const missing = (await pool(HELPED, 4, async (c) => ((await cli(dir, [c, "--help"])).stdout.includes("Example") ? null : c))).filter(Boolean);
    expect(missing).toEqual([]);
  }, 60_000);
});
