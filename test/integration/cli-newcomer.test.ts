// A first day with claudemesh, README and docs/claude-code.md followed as written (session 22):
// `inbox --all --follow` shows the history and then follows, as `tail -f` does, instead of
// dropping --follow without a word; `doctor` fails on a config whose last mesh was left, as it does
// on a missing one, instead of passing with Claude Code set up to join nothing; a post to, or the
// history of, a topic you have not joined names the command that joins it, and `send` to yourself
// names you and what to do.
import { BARE_PATH } from "../helpers/bare-path.ts";
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { cli, cliStream, cliTeam, ok, until } from "../helpers/cli.ts";
import { tempDir } from "../helpers/temp-dir.ts";

const bodies = (stdout: string) => stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l).body);

describe("inbox --all --follow", () => {
  test("shows the messages read before, then streams new ones (one JSON object per line)", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const [alice, bob] = team.dirs;
    ok(await cli(alice, ["send", "bob", "read yesterday"]));
    ok(await cli(bob, ["inbox"]));
    ok(await cli(alice, ["send", "bob", "waiting"]));
    await using follower = cliStream(bob, ["inbox", "--all", "--follow", "--json"]);
    // The unread one comes after the history; with --json the follower prints no banner.
    await until(() => follower.stdout().includes("waiting") || follower.proc.exitCode !== null, "the waiting message");
    // It used to print the history as one JSON document and exit 0.
    expect({ exited: follower.proc.exitCode }).toEqual({ exited: null });
    expect(bodies(follower.stdout())).toEqual(["read yesterday", "waiting"]);
    ok(await cli(alice, ["send", "bob", "live"]));
    await until(() => follower.stdout().includes("live"), "the live message");
    expect(bodies(follower.stdout())).toEqual(["read yesterday", "waiting", "live"]);
    // Alone, --all stays the local history (it works offline) and exits.
    expect(ok(await cli(bob, ["inbox", "--all", "--limit", "1"])).stdout).toMatch(/: live\n$/);
    expect(ok(await cli(bob, ["inbox", "--help"])).stdout).toContain("instead of new ones; with --follow, first, then new ones stream");
  }, 60_000);
});

describe("doctor", () => {
  test("fails when the config holds no mesh any more (the last one was left), with the join as its fix", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const bob = team.dirs[1];
    const home = tempDir("cm-home-");
    // No `claude` on PATH: install writes ~/.claude.json itself, so every other check passes.
    const env = { HOME: home, PATH: BARE_PATH };
    ok(await cli(bob, ["install"], { env }));
    expect(ok(await cli(bob, ["doctor", "--json"], { env })).json().ok).toBe(true);
    ok(await cli(bob, ["leave", team.mesh.slug, "--yes"], { env }));
    const after = await cli(bob, ["doctor", "--json"], { env });
    const meshes = after.json().checks.find((c: { check: string }) => c.check === "meshes");
    expect({ code: after.code, ok: after.json().ok, meshes }).toEqual({
      code: 5,
      ok: false,
      meshes: { check: "meshes", ok: false, detail: `none joined in ${join(bob, "config.json")}: Claude Code sessions join no mesh`, fix: "claudemesh join - (or claudemesh new <name> --broker URL)" },
    });
    expect((await cli(bob, ["doctor"], { env })).stdout).toContain(`FAIL meshes: none joined in ${join(bob, "config.json")}: Claude Code sessions join no mesh\n     fix: claudemesh join - (or claudemesh new <name> --broker URL)\n`);
  }, 60_000);
});

describe("refusals that name the next step", () => {
  test("a topic not joined: post, send and history say `claudemesh topic join`; sending to yourself names you", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const [alice, bob] = team.dirs;
    ok(await cli(alice, ["topic", "create", "deploys"]));
    const join = "Join it with `claudemesh topic join deploys`";
    const cases = [
      [["topic", "post", "deploys", "hi"], `claudemesh: You have not joined #deploys. ${join}, then send again.\n`],
      [["send", "#deploys", "hi"], `claudemesh: You have not joined #deploys. ${join}, then send again.\n`],
      [["topic", "history", "deploys"], `claudemesh: You have not joined #deploys. ${join}, then run this again.\n`],
    ] as const;
    for (const [args, stderr] of cases) {
      const r = await cli(bob, [...args]);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 3, stderr });
    }
    const self = await cli(alice, ["send", "alice", "hi", "--json"]);
    const key = team.mesh.members.alice!.pubkey.slice(0, 12);
    expect({ code: self.code, json: self.json() }).toEqual({ code: 2, json: { error: { code: "invalid_argument", message: `"alice" (${key}) is you. Name another peer (claudemesh peers lists them).` } } });
  }, 60_000);
});
