// Options and usage errors as a first-time user meets them (first-run review M2, M4, L1, L2, L19):
// a short option the command does not declare is refused (exit 2) instead of ending up in the
// message; the short options people try (-p, -f, -a, -m, -y) work; text that starts with "-" is
// sent after "--"; help and errors carry no colour codes when not on a terminal; an unknown command
// gets a "did you mean" and points to `claudemesh --help`; a usage error names the real command.
import { describe, expect, test } from "bun:test";
import { cli, cliStream, cliTeam, identities, ok, until } from "../helpers/cli.ts";

/** What a script or pipe sees when the environment does not disable colour (no CI, TEST, NO_COLOR). */
const COLOUR_ALLOWED = { CI: "", TEST: "", NO_COLOR: "", TERM: "xterm-256color" };
const ESC = "\x1b";

describe("short options", () => {
  test("undeclared short options are refused; declared ones work; text after -- is text", async () => {
    await using team = await cliTeam(["alice", "carol"]);
    const { dirs: [alice, carol], mesh } = team;
    // Refused, with the command's short options, and nothing sent.
    const p = await cli(alice, ["send", "carol", "short flag test", "-x", "now"]);
    expect({ code: p.code, stdout: p.stdout, stderr: p.stderr }).toEqual({
      code: 2,
      stdout: "",
      stderr: 'claudemesh: Unknown option -x; this command\'s short options are -p (--priority), -m (--mesh). An argument that starts with "-" goes after "--": claudemesh send carol \'short flag test\' -- -x now.\n  fix: see `claudemesh send --help`\n',
    });
    const peers = await cli(alice, ["peers", "-x"]);
    expect({ code: peers.code, stderr: peers.stderr }).toEqual({ code: 2, stderr: "claudemesh: Unknown option -x; this command's short options are -a (--all), -m (--mesh).\n  fix: see `claudemesh peers --help`\n" });
    const whoami = await cli(alice, ["whoami", "-q", "--json"]);
    expect({ code: whoami.code, json: whoami.json() }).toEqual({ code: 2, json: { error: { code: "usage", message: expect.stringContaining("Unknown option -q"), fix: "see `claudemesh whoami --help`" } } });
    expect(ok(await cli(carol, ["inbox", "--json"])).json().messages).toEqual([]);

    // Declared: -p (value apart or attached), -m, -a, grouped booleans.
    ok(await cli(alice, ["send", "carol", "urgent one", "-p", "now", "-m", mesh.slug]));
    ok(await cli(alice, ["send", "carol", "low one", "-plow"]));
    const read = ok(await cli(carol, ["inbox", "--json"])).json().messages.map((m: { body: string; priority: string }) => [m.body, m.priority]);
    expect(read).toEqual([["urgent one", "now"], ["low one", "low"]]);
    expect(ok(await cli(alice, ["peers", "-a", "--json"])).json().peers.length).toBe(2);
    expect(ok(await cli(carol, ["inbox", "-a", "--json"])).json().messages.length).toBe(2);

    // Text that starts with "-" goes after "--", also a lone "-h".
    ok(await cli(alice, ["send", "carol", "--", "-5 degrees", "outside"]));
    ok(await cli(alice, ["send", "carol", "--", "-h"]));
    expect(ok(await cli(carol, ["inbox", "--json"])).json().messages.map((m: { body: string }) => m.body)).toEqual(["-5 degrees outside", "-h"]);
  }, 90_000);

  test("inbox -f follows, and leave -y confirms", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { dirs: [alice, bob], mesh } = team;
    await using follower = cliStream(bob, ["inbox", "-f"]);
    // The banner is printed once the follower is connected.
    await until(() => follower.stderr().includes("Following"), "inbox -f to start following");
    expect(follower.stderr()).toContain(`Following ${mesh.slug}; Ctrl-C to stop.`);
    ok(await cli(alice, ["send", "bob", "are you there?"]));
    expect((await follower.lines(1))[0]).toContain("are you there?");
    const left = await cli(bob, ["leave", mesh.slug, "-y"]);
    expect({ code: left.code, stdout: left.stdout }).toEqual({ code: 0, stdout: `Left "Team X"; its keys are deleted from this machine.\n` });
  }, 60_000);
});

describe("usage errors and help", () => {
  test("help and errors carry no colour codes off a terminal, and help lines no trailing blanks", async () => {
    await using ids = identities(1);
    const [dir] = ids.dirs as [string];
    for (const args of [["--help"], ["send", "--help"], ["topic", "--help"]]) {
      const r = await cli(dir, args, { env: COLOUR_ALLOWED });
      expect({ args, code: r.code, colour: r.stdout.includes(ESC), trailing: /[ \t]$/m.test(r.stdout) }).toEqual({ args, code: 0, colour: false, trailing: false });
    }
    const human = await cli(dir, ["sned", "bob", "hi"], { env: COLOUR_ALLOWED });
    expect({ code: human.code, stdout: human.stdout, stderr: human.stderr }).toEqual({ code: 2, stdout: "", stderr: 'claudemesh: Unknown command "sned" (did you mean `send`?).\n  fix: see `claudemesh --help`\n' });
    const json = await cli(dir, ["sned", "--json"], { env: COLOUR_ALLOWED });
    expect({ code: json.code, json: json.json() }).toEqual({ code: 2, json: { error: { code: "usage", message: 'Unknown command "sned" (did you mean `send`?).', fix: "see `claudemesh --help`" } } });
  }, 60_000);

  test("unknown and missing commands, near misses and prefixes get a suggestion and the right --help", async () => {
    await using ids = identities(1);
    const [dir] = ids.dirs as [string];
    const cases: [string[], string][] = [
      [["topic"], "`claudemesh topic` needs a command: create, list, join, leave, history, post.\n  fix: see `claudemesh topic --help`"],
      [["topic", "pots", "general", "hi"], 'Unknown command "pots" of `claudemesh topic` (did you mean `post`?).\n  fix: see `claudemesh topic --help`'],
      [["inbx"], 'Unknown command "inbx" (did you mean `inbox`?).\n  fix: see `claudemesh --help`'],
      [["send", "bob", "hi", "--prio", "now"], "Unknown option --prio (did you mean --priority?).\n  fix: see `claudemesh send --help`"],
      [["--prio", "now"], '"--prio" comes before any command; options go after the command they belong to (did you mean `claudemesh <command> … --priority`?).\n  fix: see `claudemesh --help`'],
      [["--jsno", "whoami"], '"--jsno" comes before any command; options go after the command they belong to (did you mean `claudemesh <command> … --json`?).\n  fix: see `claudemesh --help`'],
      [["invite", "revoke"], "Missing required positional argument: ID.\n  fix: see `claudemesh invite revoke --help`"],
      // an undeclared option is named even when it leaves a required argument missing
      [["invite", "revoke", "--forse"], 'Unknown option --forse. An argument that starts with "-" goes after "--": claudemesh invite revoke -- --forse.\n  fix: see `claudemesh invite revoke --help`'],
      [["send", "bob", "--prio"], "Unknown option --prio (did you mean --priority?).\n  fix: see `claudemesh send --help`"],
      // a whole word of an option's name: not text for after "--"
      [["new", "demo", "--name", "alice"], "Unknown option --name (did you mean --display-name?).\n  fix: see `claudemesh new --help`"],
    ];
    for (const [args, message] of cases) {
      const r = await cli(dir, args);
      expect({ args, code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ args, code: 2, stdout: "", stderr: `claudemesh: ${message}\n` });
    }
    const version = await cli(dir, ["-V"]);
    expect({ code: version.code, stdout: version.stdout }).toEqual({ code: 0, stdout: expect.stringMatching(/^claudemesh \d+\.\d+\.\d+/) });
  }, 60_000);

  test("a usage error found by the command names that command's --help, not a placeholder", async () => {
    await using team = await cliTeam(["alice"]);
    const { dirs: [alice] } = team;
    const cases: [string[], string, string][] = [
      [["status", "busy"], "Status must be idle, working or dnd.", "status"],
      [["topic", "post", "general", "hi", "--priority", "soon"], "--priority must be now, next or low.", "topic post"],
      [["invite", "--role", "owner"], "--role must be member or admin.", "invite"],
      [["invite", "--role", "admn"], "--role must be member or admin (did you mean admin?).", "invite"],
    ];
    for (const [args, message, command] of cases) {
      const r = await cli(alice, args);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 2, stderr: `claudemesh: ${message}\n  fix: see \`claudemesh ${command} --help\`\n` });
    }
  }, 60_000);

  test("options before invite's own commands are refused, not dropped; words after -- are refused", async () => {
    await using team = await cliTeam(["alice"]);
    const { dirs: [alice] } = team;
    const before = await cli(alice, ["invite", "--mesh", "other", "list"]);
    expect({ code: before.code, stderr: before.stderr }).toEqual({ code: 2, stderr: "claudemesh: Options go after the command: claudemesh invite list --mesh other.\n  fix: see `claudemesh invite --help`\n" });
    const unknownShort = await cli(alice, ["invite", "-x", "list"]);
    expect({ code: unknownShort.code, stderr: unknownShort.stderr }).toEqual({ code: 2, stderr: "claudemesh: Unknown option -x; this command's short options are -m (--mesh).\n  fix: see `claudemesh invite list --help`\n" });
    const dashed = await cli(alice, ["invite", "--", "list"]);
    expect({ code: dashed.code, stderr: dashed.stderr }).toEqual({ code: 2, stderr: "claudemesh: `claudemesh invite` takes no words after --.\n  fix: see `claudemesh invite --help`\n" });
    expect(ok(await cli(alice, ["invite", "list", "--json"])).json().invites).toEqual([]);
  }, 60_000);
});
