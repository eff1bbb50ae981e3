// `claudemesh group join|leave|list` (docs/protocol.md §4.3.16, README "Using a mesh from a
// terminal"): a member puts itself in @name, `send @name` reaches it end to end, `group list` and
// `peers` show who is in what, an emptied group is refused with a hint, and a name the protocol's
// GroupName refuses is a usage error found before any mesh or broker is consulted.
import { describe, expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { cli, cliMesh, identities, ok, cliTeam } from "../helpers/cli.ts";

/** The broker's unknown_recipient line for @frontend, with the CLI's hint appended. */
const HINT = /^(claudemesh: )?No member is in group @frontend\. A member joins it with: claudemesh group join frontend\n?$/;
const bodies = (r: { json(): any }) => r.json().messages.map((m: any) => `${m.from.name} ${m.to}: ${m.body}`);

describe("cli groups", () => {
  test("join, send @group, list, peers, leave: the group reaches its members and no one else", async () => {
    await using team = await cliTeam(["alice", "bob", "carol"]);
    const { dirs: [alice, bob, carol] } = team;
    const { members } = team.mesh;
    const bobMember = { memberId: members.bob!.memberId, displayName: "bob", pubkey: members.bob!.pubkey, online: false };

    const before = await cli(alice, ["send", "@frontend", "anyone?"]);
    expect({ code: before.code, stdout: before.stdout, stderr: before.stderr }).toEqual({ code: 4, stdout: "", stderr: expect.stringMatching(HINT) });
    const emptyList = await cli(alice, ["group", "list"]);
    expect({ code: emptyList.code, stdout: emptyList.stdout }).toEqual({ code: 0, stdout: "No groups. Join one with: claudemesh group join NAME\n" });

    const join = await cli(bob, ["group", "join", "frontend"]);
    expect({ code: join.code, stdout: join.stdout, stderr: join.stderr }).toEqual({ code: 0, stdout: "You are in @frontend: messages sent to @frontend reach you. Leave with: claudemesh group leave frontend\n", stderr: "" });
    // Idempotent, and "@name" is accepted as the name.
    const again = await cli(bob, ["group", "join", "@frontend", "--json"]);
    expect({ code: again.code, json: again.json() }).toEqual({ code: 0, json: { group: "frontend" } });
    ok(await cli(bob, ["group", "join", "web/ui"]));

    const sent = await cli(alice, ["send", "@frontend", "the login page is blank", "--json"]);
    expect({ code: sent.code, json: sent.json() }).toEqual({ code: 0, json: { to: "@frontend", name: "@frontend", messageId: expect.any(String), duplicate: false, createdAt: expect.any(Number), undeliverable: [] } });
    const bobInbox = await cli(bob, ["inbox", "--json"]);
    const carolInbox = await cli(carol, ["inbox", "--json"]);
    expect({ codes: [bobInbox.code, carolInbox.code], bob: bodies(bobInbox), carol: bodies(carolInbox) }).toEqual({ codes: [0, 0], bob: ["alice @frontend: the login page is blank"], carol: [] });

    const listJson = await cli(alice, ["group", "list", "--json"]);
    expect({ code: listJson.code, json: listJson.json() }).toEqual({
      code: 0,
      json: {
        groups: [
          { name: "frontend", members: [bobMember], joined: false },
          { name: "web/ui", members: [bobMember], joined: false },
        ],
      },
    });
    // bob runs it, so bob is online (connected) while it lists.
    const listHuman = await cli(bob, ["group", "list"]);
    expect({ code: listHuman.code, stdout: listHuman.stdout }).toEqual({ code: 0, stdout: expect.stringMatching(/^@frontend +joined +bob\n@web\/ui +joined +bob\n$/) });
    const aliceView = await cli(alice, ["group", "list"]);
    expect(aliceView.stdout).toMatch(/^@frontend +— +bob \(offline\)\n/);
    const peers = await cli(alice, ["peers"]);
    expect({ code: peers.code, bob: peers.stdout.split("\n").find((l) => l.startsWith('"bob" ')) }).toEqual({ code: 0, bob: expect.stringMatching(/ @frontend @web\/ui /) });

    const leave = await cli(bob, ["group", "leave", "frontend"]);
    expect({ code: leave.code, stdout: leave.stdout }).toEqual({ code: 0, stdout: "You are not in @frontend: messages sent to @frontend no longer reach you.\n" });
    const leaveJson = await cli(bob, ["group", "leave", "frontend", "--json"]);
    expect({ code: leaveJson.code, json: leaveJson.json() }).toEqual({ code: 0, json: { group: "frontend" } });
    const after = await cli(alice, ["send", "@frontend", "still there?", "--json"]);
    expect({ code: after.code, stderr: after.stderr, json: after.json() }).toEqual({
      code: 4,
      stderr: "",
      json: { error: { code: "unknown_recipient", message: expect.stringMatching(HINT) } },
    });
    const listAfter = await cli(bob, ["group", "list", "--json"]);
    expect({ code: listAfter.code, json: listAfter.json() }).toEqual({ code: 0, json: { groups: [{ name: "web/ui", members: [{ ...bobMember, online: true }], joined: true }] } });
  }, 90_000);

  test("a bad group name is a usage error (exit 2) found locally, even with no mesh joined", async () => {
    await using b = await startBroker();
    await using ids = identities(2);
    const [alice, nobody] = ids.dirs as [string, string];
    await cliMesh(b.url, [[alice, "alice"]]);
    const message = 'The group name "Front End!" is not allowed; it takes lowercase letters, digits, -, _ and /, starting with a letter or digit (e.g. frontend).';
    for (const [dir, verb] of [[alice, "join"], [alice, "leave"], [nobody, "join"]] as const) {
      const r = await cli(dir, ["group", verb, "Front End!"]);
      expect({ verb, code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ verb, code: 2, stdout: "", stderr: `claudemesh: ${message}\n  fix: see \`claudemesh group ${verb} --help\`\n` });
    }
    const json = await cli(alice, ["group", "join", "Frontend", "--json"]);
    expect({ code: json.code, stderr: json.stderr, json: json.json() }).toEqual({ code: 2, stderr: "", json: { error: { code: "usage", message: expect.stringContaining('"Frontend" is not allowed'), fix: "see `claudemesh group join --help`" } } });
    const long = await cli(alice, ["group", "join", "a".repeat(65), "--json"]);
    expect({ code: long.code, json: long.json() }).toEqual({ code: 2, json: { error: { code: "usage", message: "The group name is 65 characters; the limit is 64.", fix: "see `claudemesh group join --help`" } } });
  }, 60_000);
});
