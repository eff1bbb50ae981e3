// What a new user met walking README's journeys (docs/decisions.md "Session 35: a new user's walk"):
// a refusal whose suggested command is refused in turn when several meshes are joined (README: "A
// command a refusal suggests carries the --mesh it needs", and so do next-step hints), a `leave` confirmation without the
// command that confirms, `new`'s own slug clash exiting 2 where every "it exists already" exits 5,
// and an invite whose loopback broker URL no teammate elsewhere can reach.
// A real broker on port 0 and the CLI as a subprocess; each suggested command is run as printed.
import { describe, expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { cli, cliStream, cliTeam, dashboardOnce, ok, until } from "../helpers/cli.ts";

/** The command a refusal's stderr names in backticks after "`claudemesh", as argv. */
const suggested = (stderr: string, verb: string) => stderr.match(new RegExp("`claudemesh (" + verb + "[^`]*)`"))?.[1]!.split(" ");

describe("a new user's walk", () => {
  test("invite revoke of an unknown id in several meshes names the mesh, and its invite list runs as printed", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const [alice] = team.dirs;
    ok(await cli(alice, ["new", "Lab", "--broker", team.b.url]));
    const slug = team.mesh.slug;
    const unknown = await cli(alice, ["invite", "revoke", "--mesh", slug, "abcdefgh12"]);
    expect({ code: unknown.code, stderr: unknown.stderr }).toEqual({ code: 4, stderr: `claudemesh: No invite abcdefgh12 in ${slug}. \`claudemesh invite list --mesh ${slug}\` lists the open ones.\n` });
    const listed = await cli(alice, suggested(unknown.stderr, "invite list")!);
    expect({ code: listed.code, stdout: listed.stdout }).toEqual({ code: 0, stdout: `No open invites: claudemesh invite list --all --mesh ${slug} lists the closed ones too. (in ${slug})\n` });
    const all = await cli(alice, ["invite", "list", "--all", "--mesh", slug]);
    expect({ code: all.code, stdout: all.stdout }).toEqual({ code: 0, stdout: expect.stringContaining(`used up`) });
    const malformed = await cli(alice, ["invite", "revoke", "--mesh", slug, "nope"]);
    expect({ code: malformed.code, stderr: malformed.stderr }).toEqual({ code: 2, stderr: expect.stringContaining(`\`claudemesh invite list --mesh ${slug}\` shows them.`) });
    // --json says the same, with the code the table gives not_found.
    const json = await cli(alice, ["invite", "revoke", "--mesh", slug, "abcdefgh12", "--json"]);
    expect({ code: json.code, json: json.json() }).toEqual({ code: 4, json: { error: { code: "not_found", message: `No invite abcdefgh12 in ${slug}. \`claudemesh invite list --mesh ${slug}\` lists the open ones.` } } });
  }, 60_000);

  test("reply to an id not read here, in several meshes, names the inbox command with its --mesh, which runs as printed", async () => {
    await using team = await cliTeam(["alice"]);
    const [alice] = team.dirs;
    ok(await cli(alice, ["new", "Lab", "--broker", team.b.url]));
    const named = await cli(alice, ["reply", "--mesh", "lab", "NoSuchMessage1", "x"]);
    expect({ code: named.code, stderr: named.stderr }).toEqual({ code: 4, stderr: expect.stringContaining("Read it first with `claudemesh inbox --mesh lab`") });
    const inbox = await cli(alice, suggested(named.stderr, "inbox")!);
    expect({ code: inbox.code, stdout: inbox.stdout }).toEqual({ code: 0, stdout: "No new messages. (in lab)\n" });
    // Without --mesh the id was looked for in every mesh: the hint says to name the one it came to.
    const anywhere = await cli(alice, ["reply", "NoSuchMessage1", "x"]);
    expect({ code: anywhere.code, stderr: anywhere.stderr }).toEqual({ code: 4, stderr: expect.stringContaining("Read it first with `claudemesh inbox --mesh <mesh it came to>`") });
  }, 60_000);

  test("dashboard with no browser gives the --no-open command that works, --mesh included when several meshes are joined", async () => {
    await using team = await cliTeam(["alice"]);
    const [alice] = team.dirs;
    const env = { CLAUDEMESH_BROWSER: "" }; // CI=1 (cliEnv): no desktop session
    const one = await dashboardOnce(alice, [], { env });
    expect({ code: one.code, fix: one.stderr.split("\n").find((l) => l.startsWith("  fix:")) }).toEqual({ code: 2, fix: "  fix: claudemesh dashboard --no-open" });
    ok(await cli(alice, ["new", "Lab", "--broker", team.b.url]));
    const several = await dashboardOnce(alice, ["--mesh", "lab"], { env });
    expect({ code: several.code, stdout: several.stdout, stderr: several.stderr }).toEqual({
      code: 2,
      stdout: "",
      stderr: expect.stringContaining("`claudemesh dashboard --mesh lab --no-open` prints the link instead;"),
    });
    expect(several.stderr).toEndWith("\n  fix: claudemesh dashboard --mesh lab --no-open\n");
    const printed = await dashboardOnce(alice, suggested(several.stderr, "dashboard")!.slice(1), { env });
    expect({ code: printed.code, link: printed.stdout.split("\n")[0] }).toEqual({ code: 0, link: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/#login=/) });
  }, 60_000);

  test("kick's note on open invites and group join's way out carry --mesh in several meshes, and run as printed", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const [alice] = team.dirs;
    const slug = team.mesh.slug;
    ok(await cli(alice, ["new", "Lab", "--broker", team.b.url]));
    ok(await cli(alice, ["invite", "--mesh", slug]));
    const kicked = ok(await cli(alice, ["kick", "bob", "--mesh", slug]));
    expect(kicked.stderr).toContain(`claudemesh invite list --mesh ${slug} shows them, claudemesh invite revoke --mesh ${slug} <id> closes one.`);
    const listed = await cli(alice, ["invite", "list", "--mesh", slug]);
    expect({ code: listed.code, stdout: listed.stdout }).toEqual({ code: 0, stdout: expect.stringContaining("1 use(s) left") });
    const joined = ok(await cli(alice, ["group", "join", "frontend", "--mesh", "lab"]));
    expect(joined.stdout).toBe("You are in @frontend: messages sent to @frontend reach you. Leave with: claudemesh group leave frontend --mesh lab (in lab)\n");
    ok(await cli(alice, ["group", "leave", "frontend", "--mesh", "lab"]));
  }, 60_000);

  test("inbox --follow while dnd in several meshes names the status and inbox commands with their --mesh", async () => {
    await using team = await cliTeam(["alice"]);
    const [alice] = team.dirs;
    ok(await cli(alice, ["new", "Lab", "--broker", team.b.url]));
    ok(await cli(alice, ["status", "dnd", "--mesh", "lab"]));
    await using follower = cliStream(alice, ["inbox", "--follow", "--mesh", "lab"]);
    await until(() => follower.stderr().includes("Following"), "the follow banner");
    await until(() => follower.stderr().endsWith("\n"), "the banner's end");
    expect(follower.stderr()).toBe("Following lab; Ctrl-C to stop.\nYou are dnd: only priority-now messages show here as they arrive; the others wait until `claudemesh status idle --mesh lab` (or read them now with `claudemesh inbox --mesh lab`).\n");
    const idle = await cli(alice, suggested(follower.stderr(), "status")!);
    expect({ code: idle.code, stdout: idle.stdout }).toEqual({ code: 0, stdout: "Status: idle. (in lab)\n" });
  }, 60_000);

  test("leave without --yes and no terminal gives the confirming command as its fix", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const [, bob] = team.dirs;
    const slug = team.mesh.slug;
    const asked = await cli(bob, ["leave", slug]);
    expect({ code: asked.code, stderr: asked.stderr }).toEqual({ code: 2, stderr: `claudemesh: Leaving deletes your keys for this mesh; confirm with --yes.\n  fix: claudemesh leave ${slug} --yes\n` });
    const forget = await cli(bob, ["leave", slug, "--forget", "--json"]);
    expect({ code: forget.code, fix: forget.json().error.fix }).toEqual({ code: 2, fix: `claudemesh leave ${slug} --yes --forget` });
    const left = await cli(bob, asked.stderr.split("fix: ")[1]!.trim().split(" ").slice(1));
    expect({ code: left.code, stdout: left.stdout }).toEqual({ code: 0, stdout: expect.stringContaining("its keys are deleted from this machine") });
  }, 60_000);

  test("new with a slug you already have is refused as a state (exit 5, as a slug the broker has), naming one to use", async () => {
    await using team = await cliTeam(["alice"]);
    const [alice] = team.dirs;
    await using other = await startBroker();
    const slug = team.mesh.slug;
    const mine = await cli(alice, ["new", "Elsewhere", "--slug", slug, "--broker", other.url, "--json"]);
    expect({ code: mine.code, json: mine.json() }).toEqual({
      code: 5,
      json: { error: { code: "conflict", message: `You are already in a mesh called "${slug}" (on ${team.b.url}); two could not be told apart by --mesh. Choose another with --slug, e.g. --slug ${slug}-2.` } },
    });
    // The broker's own refusal of a slug it has: the same code.
    const theirs = await cli(`${team.root}/carol`, ["new", "Theirs", "--slug", slug, "--broker", team.b.url]);
    expect(theirs.code).toBe(5);
    ok(await cli(alice, ["new", "Elsewhere", "--slug", `${slug}-2`, "--broker", other.url]));
  }, 60_000);

  test("an invite naming a loopback broker says that only this machine reaches it; --json stays the result alone", async () => {
    await using team = await cliTeam(["alice"]);
    const [alice] = team.dirs;
    const human = ok(await cli(alice, ["invite"]));
    expect(human.stderr).toBe(`Note: this link names the broker at ${team.b.url}, which only this machine reaches: a teammate on another machine cannot join with it.\n`);
    const json = ok(await cli(alice, ["invite", "--json"]));
    expect({ stderr: json.stderr, link: json.json().link }).toEqual({ stderr: "", link: expect.stringMatching(/^ic:\/\/join\//) });
  }, 60_000);
});
