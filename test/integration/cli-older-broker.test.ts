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
});
