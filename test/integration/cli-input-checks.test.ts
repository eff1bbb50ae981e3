// Input the broker would refuse is refused by the CLI first (walkthrough review, input checks):
// text over a protocol bound names its flag or argument and the limit (exit 2) before anything is
// sent; a "mesh:" prefix naming no joined mesh says so; grants for yourself are refused; refusals
// that depend on state say what to do next (leave with the broker down, a slug already taken).
// "Before anything is sent" is shown by running with the broker stopped: a command that connected
// would exit 6 instead.
import { describe, expect, test } from "bun:test";
import { cli, cliTeam, identities, ok } from "../helpers/cli.ts";
import * as L from "../../src/protocol/limits.ts";
import { storedName } from "../helpers/broker.ts";

const USAGE = (message: string, command: string) => ({ code: 2, stdout: "", stderr: `claudemesh: ${message}\n  fix: see \`claudemesh ${command} --help\`\n` });

describe("text over a protocol bound", () => {
  test("is refused with the flag or argument and the limit, without contacting the broker", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { b, dirs: [alice] } = team;
    // At the limit, the broker takes it.
    ok(await cli(alice, ["summary", "s".repeat(L.MAX_SUMMARY_LEN)]));
    ok(await cli(alice, ["topic", "create", "t".repeat(L.MAX_TOPIC_NAME_LEN), "--description", "d".repeat(L.MAX_DESCRIPTION_LEN)]));
    await using ids = identities(1);
    ok(await cli(ids.dirs[0]!, ["new", "n".repeat(L.MAX_NAME_LEN), "--slug", "s".repeat(L.MAX_SLUG_LEN), "--broker", b.url]));
    await b.stop();
    const cases: [string[], string, string][] = [
      [["summary", "s".repeat(L.MAX_SUMMARY_LEN + 1)], `The summary is ${L.MAX_SUMMARY_LEN + 1} characters; the limit is ${L.MAX_SUMMARY_LEN}.`, "summary"],
      [["topic", "create", "ops", "--description", "d".repeat(L.MAX_DESCRIPTION_LEN + 1)], `--description is ${L.MAX_DESCRIPTION_LEN + 1} characters; the limit is ${L.MAX_DESCRIPTION_LEN}.`, "topic create"],
      [["topic", "create", "Ops Team"], 'The topic name "Ops Team" is not allowed; it takes lowercase letters, digits, - and _, starting with a letter or digit (e.g. backend).', "topic create"],
      [["topic", "join", "t".repeat(L.MAX_TOPIC_NAME_LEN + 1)], `The topic name is ${L.MAX_TOPIC_NAME_LEN + 1} characters; the limit is ${L.MAX_TOPIC_NAME_LEN}.`, "topic join"],
      [["topic", "leave", "#Ops"], 'The topic name "Ops" is not allowed; it takes lowercase letters, digits, - and _, starting with a letter or digit (e.g. backend).', "topic leave"],
      // Checked before the command's own error handling took over: a stack trace, exit 1.
      [["topic", "post", "Ops Team", "hi"], 'The topic name "Ops Team" is not allowed; it takes lowercase letters, digits, - and _, starting with a letter or digit (e.g. backend).', "topic post"],
      [["group", "join", "g".repeat(L.MAX_GROUP_NAME_LEN + 1)], `The group name is ${L.MAX_GROUP_NAME_LEN + 1} characters; the limit is ${L.MAX_GROUP_NAME_LEN}.`, "group join"],
      [["kick", "bob", "--reason", "r".repeat(L.MAX_REASON_LEN + 1)], `--reason is ${L.MAX_REASON_LEN + 1} characters; the limit is ${L.MAX_REASON_LEN}.`, "kick"],
      [["new", "", "--broker", b.url], `The mesh name is empty; it takes 1–${L.MAX_NAME_LEN} characters of visible text (e.g. "Shop team").`, "new"],
      [["new", "   ", "--broker", b.url], `The mesh name is empty; it takes 1–${L.MAX_NAME_LEN} characters of visible text (e.g. "Shop team").`, "new"],
      [["new", "n".repeat(L.MAX_NAME_LEN + 1), "--broker", b.url], `The mesh name is ${L.MAX_NAME_LEN + 1} characters; the limit is ${L.MAX_NAME_LEN}.`, "new"],
      [["new", "two\nlines", "--broker", b.url], `The mesh name holds U+000A, a control, invisible or text-direction character; it takes 1–${L.MAX_NAME_LEN} characters of visible text (e.g. "Shop team").`, "new"],
      [["new", "Ops", "--slug", "s".repeat(L.MAX_SLUG_LEN + 1), "--broker", b.url], `--slug is ${L.MAX_SLUG_LEN + 1} characters; the limit is ${L.MAX_SLUG_LEN}.`, "new"],
      [["new", "Ops", "--slug", "Ops_Team", "--broker", b.url], '--slug "Ops_Team" is not allowed; it takes lowercase letters, digits and -, starting with a letter or digit (e.g. shop-team).', "new"],
    ];
    const shown = (args: string[]) => args.map((a) => a.slice(0, 20)).join(" ");
    const got = [];
    for (const [args] of cases) {
      const r = await cli(alice, args);
      got.push({ args: shown(args), code: r.code, stdout: r.stdout, stderr: r.stderr });
    }
    expect(got).toEqual(cases.map(([args, message, command]) => ({ args: shown(args), ...USAGE(message, command) })));
    const json = await cli(alice, ["summary", "s".repeat(L.MAX_SUMMARY_LEN + 1), "--json"]);
    expect({ code: json.code, json: json.json() }).toEqual({ code: 2, json: { error: { code: "usage", message: `The summary is ${L.MAX_SUMMARY_LEN + 1} characters; the limit is ${L.MAX_SUMMARY_LEN}.`, fix: "see `claudemesh summary --help`" } } });
    const post = await cli(alice, ["topic", "post", "Ops Team", "hi", "--json"]);
    expect({ code: post.code, stderr: post.stderr, json: post.json() }).toEqual({ code: 2, stderr: "", json: { error: { code: "usage", message: expect.stringContaining('The topic name "Ops Team" is not allowed'), fix: "see `claudemesh topic post --help`" } } });
  }, 90_000);
});

describe("a mesh: prefix naming no joined mesh", () => {
  test("says the mesh is unknown and lists yours, in one mesh (after no peer matched) and in several (before connecting)", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { b, dirs: [alice, bob], mesh } = team;
    // A name an older broker took may hold ":": a peer called so is still reached by it.
    await using ids = identities(1);
    const { link } = ok(await cli(alice, ["invite", "--json"])).json();
    const carol = ok(await cli(ids.dirs[0]!, ["join", link, "--display-name", "carol", "--json"])).json().member.memberId;
    storedName(b, mesh.meshId, carol, "dev:carol");
    expect(ok(await cli(alice, ["send", "dev:carol", "hi", "--json"])).json().name).toBe("dev:carol");
    const one = await cli(alice, ["send", "nomesh:bob", "hi"]);
    expect({ code: one.code, stdout: one.stdout, stderr: one.stderr }).toEqual({
      code: 4,
      stdout: "",
      stderr: `claudemesh: No peer matches "nomesh:bob", and "nomesh" is not a mesh you are in (you are in: ${mesh.slug}). The part before ":" names the mesh, as in ${mesh.slug}:bob.\n`,
    });
    expect(ok(await cli(bob, ["inbox", "--json"])).json().messages).toEqual([]);
    ok(await cli(alice, ["new", "Second", "--broker", b.url]));
    await b.stop();
    const several = await cli(alice, ["send", "nomesh:bob", "hi", "--json"]);
    expect({ code: several.code, json: several.json() }).toEqual({
      code: 4,
      json: { error: { code: "not_found", message: `"nomesh" is not a mesh you are in (you are in: ${mesh.slug}, second). The part before ":" names the mesh, as in ${mesh.slug}:bob. If "nomesh:bob" is a peer's name, choose the mesh with --mesh <slug>.` } },
    });
  }, 90_000);
});

describe("grants for yourself", () => {
  test("grant, revoke and block naming you are refused (exit 2) and change nothing", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { dirs: [alice], mesh } = team;
    const me = mesh.members.alice!.pubkey;
    const refusal = `"alice" (${me.slice(0, 12)}) is you: grants say what other peers may send you, and one for yourself would only filter what your own sessions send you. Nothing was changed. Name another peer (claudemesh peers lists them).`;
    for (const args of [["grant", "alice", "dm"], ["revoke", me.slice(0, 8), "broadcast"], ["block", me]]) {
      const r = await cli(alice, [...args, "--json"]);
      expect({ args, code: r.code, json: r.json() }).toEqual({ args, code: 2, json: { error: { code: "invalid_argument", message: refusal } } });
    }
    expect(ok(await cli(alice, ["grants", "--json"])).json().grants).toEqual([]);
    const events = async () => ok(await cli(alice, ["audit", "log", "--json"])).json().entries.map((e: { eventType: string }) => e.eventType);
    expect(await events()).toEqual(["mesh_created", "invite_created", "member_joined", "invite_claimed"]);
    // Another peer still can be.
    expect(ok(await cli(alice, ["block", "bob", "--json"])).json().caps).toEqual([]);
    expect((await events()).at(-1)).toBe("grant_changed");
    // An entry for yourself made before the CLI refused them (or by another client) can be undone.
    await team.b.ctx.store.setGrant(mesh.meshId, mesh.members.alice!.memberId, me, [], me);
    expect(ok(await cli(alice, ["grant", "alice", "all", "--json"])).json().caps.length).toBeGreaterThan(0);
  }, 60_000);
});

describe("state-related refusals say what to do next", () => {
  test("leave with the broker down keeps the keys and names --forget", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { b, dirs: [, bob], mesh } = team;
    await b.stop();
    const r = await cli(bob, ["leave", mesh.slug, "--yes"]);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
      code: 6,
      stdout: "",
      stderr: expect.stringMatching(
        new RegExp(`^claudemesh: Cannot reach the broker at .*[.?] Nothing was deleted: your keys for "${mesh.slug}" are still on this machine\\. Run the same command again once the broker answers; or, if it is gone for good, delete them here without telling it \\(your membership stays on the broker\\): claudemesh leave ${mesh.slug} --yes --forget\\n$`),
      ),
    });
    expect(ok(await cli(bob, ["list", "--json"])).json().meshes.map((m: { slug: string }) => m.slug)).toEqual([mesh.slug]);
    expect(ok(await cli(bob, ["leave", mesh.slug, "--yes", "--forget", "--json"])).json()).toEqual({ left: mesh.slug, toldBroker: false });
  }, 60_000);

  test("new with a slug taken on the broker suggests --slug, and the suggestion works", async () => {
    await using team = await cliTeam(["alice"]);
    const { b } = team;
    await using ids = identities(1);
    const [other] = ids.dirs as [string];
    const r = await cli(other, ["new", "Team X", "--broker", b.url]);
    const message = `The slug "team-x" is already taken on ${b.url}: slugs are unique per broker. Choose another with --slug, e.g. --slug team-x-2.`;
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 5, stdout: "", stderr: `claudemesh: ${message}\n` });
    const json = await cli(other, ["new", "Team X", "--broker", b.url, "--json"]);
    expect({ code: json.code, json: json.json() }).toEqual({ code: 5, json: { error: { code: "conflict", message } } });
    expect(ok(await cli(other, ["new", "Team X", "--broker", b.url, "--slug", "team-x-2", "--json"])).json().mesh.slug).toBe("team-x-2");
  }, 60_000);
});
