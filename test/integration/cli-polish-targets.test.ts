// Choosing the mesh and the peer from the CLI (first-run review M5, L18). Someone in several
// meshes names one per command with --mesh, per message with a "slug:" prefix on send's target
// (as the MCP tools read targets), or once for the shell with CLAUDEMESH_MESH; an explicit choice
// beats the variable. A name never resolves to the sender unless it is exactly theirs alone.
import { describe, expect, test } from "bun:test";
import { cli, cliTeam, ok } from "../helpers/cli.ts";
import { startBroker } from "../helpers/broker.ts";

const bodies = (r: { json(): any }) => r.json().messages.map((m: { body: string }) => m.body);
const names = (r: { json(): any }) => r.json().peers.map((p: { displayName: string }) => p.displayName).sort();

describe("several meshes", () => {
  test("send team:bob, CLAUDEMESH_MESH, and --mesh over the variable", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { b, dirs: [alice, bob], mesh } = team;
    ok(await cli(alice, ["new", "Other", "--broker", b.url, "--display-name", "alice", "--json"]));
    const slug = mesh.slug;

    const unchosen = await cli(alice, ["send", "bob", "hi"]);
    expect({ code: unchosen.code, stderr: unchosen.stderr }).toEqual({
      code: 2,
      stderr: `claudemesh: You are in several meshes (${slug}, other); choose one with --mesh <slug>, a mesh prefix on the target (${slug}:bob), or set CLAUDEMESH_MESH=<slug> to make one the default.\n`,
    });

    // In several meshes, the confirmation names the one it went to (with one mesh it does not:
    // cli-lifecycle.test.ts).
    const sent = await cli(alice, ["send", `${slug}:bob`, "by prefix"]);
    expect({ code: sent.code, stdout: sent.stdout }).toEqual({ code: 0, stdout: expect.stringMatching(new RegExp(`^Sent to "bob" \\([0-9a-f]{12}\\) in ${slug}\\. id [A-Za-z0-9_-]+\n$`)) });
    ok(await cli(alice, ["send", "bob", "by variable"], { env: { CLAUDEMESH_MESH: slug } }));
    // A prefix beats the variable, and #topics take one too.
    const posted = await cli(alice, ["send", `${slug}:#general`, "posted by prefix"], { env: { CLAUDEMESH_MESH: "other" } });
    expect({ code: posted.code, stdout: posted.stdout }).toEqual({ code: 0, stdout: expect.stringMatching(new RegExp(`^Sent to #general \\(#1\\) in ${slug}\\. id `)) });
    expect(bodies(ok(await cli(bob, ["inbox", "--json"])))).toEqual(["by prefix", "by variable", "posted by prefix"]);

    // The variable is the default for every command; --mesh wins over it.
    expect(names(ok(await cli(alice, ["peers", "--json"], { env: { CLAUDEMESH_MESH: "other" } })))).toEqual(["alice"]);
    expect(names(ok(await cli(alice, ["peers", "--json", "--mesh", slug], { env: { CLAUDEMESH_MESH: "other" } })))).toEqual(["alice", "bob"]);

    const unknown = await cli(alice, ["peers"], { env: { CLAUDEMESH_MESH: "nope" } });
    expect({ code: unknown.code, stderr: unknown.stderr }).toEqual({ code: 4, stderr: `claudemesh: No joined mesh "nope". Joined: ${slug}, other. CLAUDEMESH_MESH names it: change or unset it, or pass --mesh.\n` });
    // whoami too (its --help says the default is $CLAUDEMESH_MESH; it listed every mesh, exit 0).
    const whoami = await cli(alice, ["whoami"], { env: { CLAUDEMESH_MESH: "nope" } });
    expect({ code: whoami.code, stdout: whoami.stdout, stderr: whoami.stderr }).toEqual({ code: 4, stdout: "", stderr: unknown.stderr });
    expect(ok(await cli(alice, ["whoami", "--json"], { env: { CLAUDEMESH_MESH: "other" } })).json().identities.map((i: { mesh: string }) => i.mesh)).toEqual(["other"]);
    expect(ok(await cli(alice, ["whoami", "--json"])).json().identities.map((i: { mesh: string }) => i.mesh)).toEqual([slug, "other"]);
    const both = await cli(alice, ["send", "other:bob", "hi", "--mesh", slug, "--json"]);
    expect({ code: both.code, json: both.json() }).toEqual({ code: 2, json: { error: { code: "usage", message: `"other:bob" names mesh other but --mesh names ${slug}; give only one of them.`, fix: "see `claudemesh send --help`" } } });
  }, 60_000);
});

describe("names and yourself", () => {
  test("two members called unknown: `send unknown` from one reaches the other", async () => {
    await using team = await cliTeam(["unknown", "unknown"]);
    const { dirs: [first, second] } = team;
    const secondKey = ok(await cli(second, ["whoami", "--json"])).json().identities[0].pubkey;
    const sent = await cli(first, ["send", "unknown", "hi there", "--json"]);
    expect({ code: sent.code, to: sent.json().to }).toEqual({ code: 0, to: secondKey });
    expect(bodies(ok(await cli(second, ["inbox", "--json"])))).toEqual(["hi there"]);
    // A prefix finds the other one too, from either side.
    ok(await cli(second, ["send", "unk", "and back"]));
    expect(bodies(ok(await cli(first, ["inbox", "--json"])))).toEqual(["and back"]);
  }, 60_000);

  test("a name that is only yours is still refused as you", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { dirs: [alice] } = team;
    const self = await cli(alice, ["send", "alice", "hi", "--json"]);
    const key = team.mesh.members.alice!.pubkey.slice(0, 12);
    expect({ code: self.code, json: self.json() }).toEqual({ code: 2, json: { error: { code: "invalid_argument", message: `"alice" (${key}) is you. Name another peer (claudemesh peers lists them).` } } });
  }, 60_000);

  test("two meshes with one slug on different brokers: new refuses the clash, join warns, and a slug never picks one of them", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    await using other = await startBroker();
    const { dirs: [alice, bob], mesh } = team;
    const slug = mesh.slug;
    // alice creates a mesh on the other broker: not under a slug she already has.
    const clash = await cli(alice, ["new", "Elsewhere", "--slug", slug, "--broker", other.url]);
    expect({ code: clash.code, stderr: clash.stderr }).toEqual({ code: 5, stderr: expect.stringContaining(`You are already in a mesh called "${slug}"`) });
    const created = ok(await cli(alice, ["new", "Elsewhere", "--slug", `${slug}-x`, "--broker", other.url, "--json"])).json();
    // carol on the other broker owns a mesh with bob's slug; bob joins it and is warned.
    const carol = `${team.root}/carol`;
    const theirs = ok(await cli(carol, ["new", "Theirs", "--slug", slug, "--broker", other.url, "--display-name", "carol", "--json"])).json();
    const link = ok(await cli(carol, ["invite", "--json"])).json().link;
    const joined = await cli(bob, ["join", link]);
    expect({ code: joined.code, stderr: joined.stderr }).toEqual({ code: 0, stderr: expect.stringContaining(`already in another mesh called "${slug}"`) });
    // --mesh <slug> and leave <slug> name both: refused with the ids, nothing left.
    for (const args of [["peers", "--mesh", slug], ["leave", slug, "--yes"], ["send", `${slug}:carol`, "hi"]]) {
      const r = await cli(bob, args);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 2, stderr: expect.stringContaining(`Several joined meshes are called "${slug}"`) });
    }
    expect(ok(await cli(bob, ["list", "--json"])).json().meshes).toHaveLength(2);
    // By id, each is reachable.
    expect(names(ok(await cli(bob, ["peers", "--json", "--mesh", theirs.mesh.id])))).toContain("carol");
    expect(names(ok(await cli(bob, ["peers", "--json", "--mesh", mesh.meshId])))).toEqual(["alice", "bob"]);
    expect(created.mesh.slug).toBe(`${slug}-x`);
  }, 60_000);
});
