// Today's CLI against a broker of schema 1–2 (test/helpers/older-broker.ts: member lists without
// `admission`, invite_create refusing `keySignature`). It crashed on `send`, `kick` and `rekey`
// ("undefined is not an object (evaluating 'a.inviteId')", exit 1) and called the broker's refusal
// of an invite a usage error (exit 2). Each must say what is wrong and what to do instead.
import { describe, expect, test } from "bun:test";
import { cli, cliTeam } from "../helpers/cli.ts";
import { olderBrokerAnswers } from "../helpers/older-broker.ts";

describe("today's CLI on a broker of schema 1–2", () => {
  test("send, rekey and kick read a member list without admission evidence as members to invite again", async () => {
    await using team = await cliTeam(["alice", "bob", "carol"]);
    const { dirs: [alice] } = team;
    using _older = olderBrokerAnswers();

    const send = await cli(alice, ["send", "bob", "hi"]);
    expect({ code: send.code, stderr: send.stderr }).toEqual({ code: 3, stderr: expect.stringContaining('Not sent: the enrolment of "bob"') });
    expect(send.stderr).not.toContain("undefined");

    const rekey = await cli(alice, ["rekey", "--json"]);
    expect({ code: rekey.code, stderr: rekey.stderr, json: rekey.code === 0 ? rekey.json() : null }).toEqual({ code: 0, stderr: "", json: expect.objectContaining({ epoch: 1, sentTo: 0, skipped: ["bob", "carol"] }) });

    const kick = await cli(alice, ["kick", "carol", "--json"]);
    expect({ code: kick.code, json: kick.code === 0 ? kick.json() : kick.stderr }).toEqual({ code: 0, json: expect.objectContaining({ name: "carol", keyEpoch: 2 }) });
  });

  test("an invite the broker refuses for a field it does not know says the broker is older, exit 6", async () => {
    await using team = await cliTeam(["alice"]);
    const { dirs: [alice] } = team;
    using _older = olderBrokerAnswers();
    const invite = await cli(alice, ["invite"]);
    expect({ code: invite.code, stdout: invite.stdout, stderr: invite.stderr }).toEqual({
      code: 6,
      stdout: "",
      stderr: `claudemesh: The broker at ${team.b.url} runs an older claudemesh than this one: it does not know the field "keySignature" of invite_create, which this version sends, so nothing was done. Ask its operator to upgrade the broker (docs/operations.md, "Upgrading"); until then use a claudemesh no newer than the broker's.\n`,
    });
    const json = await cli(alice, ["invite", "--json"]);
    expect({ code: json.code, error: json.json().error }).toEqual({ code: 6, error: expect.objectContaining({ code: "unsupported_version" }) });
  });
});
