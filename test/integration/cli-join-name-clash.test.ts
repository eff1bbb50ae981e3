// Display names are not identities: `join --name bob` into a mesh that already has an active bob
// (trimmed, case-insensitive, as `send` matches names) succeeds, but warns on stderr, naming the
// clash and how to take another name (there is no rename command). stdout, and --json's document,
// stay the result alone; a join without a clash prints no warning.
import { describe, expect, test } from "bun:test";
import { cli, cliTeam, identities, ok } from "../helpers/cli.ts";

describe("join with a name another member has", () => {
  test("warns on stderr, in human and --json mode; no clash, no warning", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { dirs: [alice], mesh } = team;
    await using ids = identities(3);
    const [bob2, bob3, carol] = ids.dirs as [string, string, string];
    const invite = async () => ok(await cli(alice, ["invite", "--json"])).json().link as string;
    const warning = (pubkey: string, name: string, who: string) =>
      `claudemesh: warning: ${who} (member, key ${mesh.members.bob!.pubkey.slice(0, 12)}). \`claudemesh send ${name}\` is now ambiguous: peers must tell you apart by key prefix (yours: ${pubkey.slice(0, 12)}). To take another name, leave (claudemesh leave team-x --yes), ask for a new invite and join again with --display-name <another name>.\n`;

    const human = await cli(bob2, ["join", await invite(), "--name", " Bob "]);
    const pubkey2 = ok(await cli(bob2, ["whoami", "--json"])).json().identities[0].pubkey;
    expect({ code: human.code, stdout: human.stdout, stderr: human.stderr }).toEqual({
      code: 0,
      stdout: expect.stringMatching(/^Joined "Team X" \(team-x\) as Bob \(member\)\.\nAlso here: /),
      stderr: warning(pubkey2, "Bob", 'another member of "Team X" is already called "bob"'),
    });

    // Two namesakes now; --json keeps stdout one JSON document.
    const json = await cli(bob3, ["join", await invite(), "--name", "BOB", "--json"]);
    expect({ code: json.code, name: json.json().member.displayName }).toEqual({ code: 0, name: "BOB" });
    const pubkey3 = json.json().member.pubkey as string;
    expect(json.stderr).toStartWith(`claudemesh: warning: 2 other members of "Team X" are already called "BOB" (`);
    for (const key of [mesh.members.bob!.pubkey, pubkey2]) expect(json.stderr).toContain(`member, key ${key.slice(0, 12)}`);
    expect(json.stderr).toContain(`\`claudemesh send BOB\` is now ambiguous: peers must tell you apart by key prefix (yours: ${pubkey3.slice(0, 12)})`);

    const clear = await cli(carol, ["join", await invite(), "--name", "carol"]);
    expect({ code: clear.code, stderr: clear.stderr }).toEqual({ code: 0, stderr: "" });
  }, 60_000);
});
