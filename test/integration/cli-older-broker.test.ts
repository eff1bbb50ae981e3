// Today's CLI against a broker of schema 1–2 (test/helpers/older-broker.ts: member lists without
// `admission`, invite_create refusing `keySignature`). It crashed on `send`, `kick` and `rekey`
// ("undefined is not an object (evaluating 'a.inviteId')", exit 1) and called the broker's refusal
// of an invite a usage error (exit 2). Each must say what is wrong and what to do instead.
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, cliStream, cliTeam, ok, until, useBroker } from "../helpers/cli.ts";
import { brokerBeforeEvents, brokerWithoutLookups, olderBrokerAnswers } from "../helpers/older-broker.ts";
import { requestsHandled } from "../helpers/requests-handled.ts";

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

// A laptop's CLI upgraded before the team's broker (brew upgrades it; the VPS later). Such a broker
// refuses a hello with `events` (docs/protocol.md §4.3.1), and today's CLI said every hello twice:
// one more connection for every command, +310 ms for `peers` and +330 ms for `send` at 100 ms round
// trip against yesterday's real broker (500 → 810 ms), until the broker was upgraded.
describe("today's CLI on a broker older than the hello's events field", () => {
  test("one command falls back; the next ones on this machine leave the field out for an hour, then ask again", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const [alice] = team.dirs;
    using older = brokerBeforeEvents(team.b.url);
    useBroker(alice, older.url);
    ok(await cli(alice, ["peers"]));
    ok(await cli(alice, ["send", "bob", "hi"]));
    ok(await cli(alice, ["inbox"]));
    // The first hello carries the field and is refused; each later one leaves it out at once.
    expect(older.hellos).toEqual([true, false, false, false]);
    // An hour on (here: the memory made an hour older), the next command asks again.
    ageNote(alice, "eventsRefused", 60 * 60 * 1000 + 1);
    older.upgrade(); // meanwhile the broker was upgraded: the field is taken
    ok(await cli(alice, ["peers"]));
    expect(older.hellos).toEqual([true, false, false, false, true]);
  }, 60_000);

  test("the memory is the broker's: another URL, and a follower that stays connected, ask with the field", async () => {
    await using team = await cliTeam(["alice"]);
    const [alice] = team.dirs;
    using older = brokerBeforeEvents(team.b.url);
    useBroker(alice, older.url);
    ok(await cli(alice, ["peers"]));
    expect(older.hellos).toEqual([true, false]);
    // `inbox --follow` keeps its connection for hours: it asks with the field (and falls back).
    await using follower = cliStream(alice, ["inbox", "--follow"]);
    await until(() => follower.stderr().includes("Following"), "the follower to start");
    expect(older.hellos).toEqual([true, false, true, false]);
    // The mesh moved to an upgraded broker (another URL): no memory of it.
    using other = brokerBeforeEvents(team.b.url);
    other.upgrade();
    useBroker(alice, other.url);
    ok(await cli(alice, ["peers"]));
    expect(other.hellos).toEqual([true]);
  }, 60_000);
});

// The same laptop against a broker older than `peer_lookup`/`member_lookup` (session 35): it answers
// them `unknown_type`, and today's `send` by name asked it first every time, then read the lists
// whole: one more round trip per command (800 against 700 ms at a 100 ms round trip, session 36).
describe("today's CLI on a broker older than the lookups", () => {
  test("one command asks and reads the lists; the next ones read them at once for an hour, then ask again", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const [alice] = team.dirs;
    // Counted outside the stand-in, which is taken away (the broker upgraded) before the end.
    using handled = requestsHandled();
    const older = brokerWithoutLookups();
    ok(await cli(alice, ["send", "bob", "one"]));
    expect({ refused: older.asked, lists: handled.count("list_peers") }).toEqual({ refused: 1, lists: 1 });
    ok(await cli(alice, ["send", "bob", "two"]));
    ok(await cli(alice, ["send", "bob", "three"]));
    // Asked by the first command only; each later one read the list at once.
    expect({ refused: older.asked, lists: handled.count("list_peers") }).toEqual({ refused: 1, lists: 3 });
    // A follower stays connected for hours: it asks, as the MCP server does, whatever the memory says.
    await using follower = cliStream(alice, ["inbox", "--follow"]);
    await until(() => follower.stderr().includes("Following"), "the follower to start");
    expect(older.asked).toBe(2);
    await follower[Symbol.asyncDispose]();
    // An hour on (here: the note made an hour older), with the broker upgraded meanwhile: the next
    // command asks, is answered, and reads no list.
    ageNote(alice, "lookupsRefused", 60 * 60 * 1000 + 1);
    older[Symbol.dispose]();
    handled.reset();
    ok(await cli(alice, ["send", "bob", "four"]));
    expect({ lookups: handled.count("peer_lookup"), lists: handled.count("list_peers") }).toEqual({ lookups: 1, lists: 0 });
  }, 60_000);

  test("a damaged note is ignored, not fatal: the command asks again and notes a refusal afresh", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const [alice] = team.dirs;
    using older = brokerWithoutLookups();
    const file = join(alice, "config.json");
    for (const field of ["eventsRefused", "lookupsRefused"]) {
      for (const damaged of ["junk", null, { brokerUrl: team.b.url }, { brokerUrl: team.b.url, at: "soon" }]) {
        const cfg = JSON.parse(readFileSync(file, "utf8"));
        delete cfg.meshes[0].lookupsRefused;
        cfg.meshes[0][field] = damaged;
        writeFileSync(file, JSON.stringify(cfg), { mode: 0o600 });
        const asked = older.asked;
        const send = await cli(alice, ["send", "bob", "hi"]);
        expect({ field, damaged, code: send.code, stderr: send.stderr, asked: older.asked - asked }).toEqual({ field, damaged, code: 0, stderr: "", asked: 1 });
        expect(JSON.parse(readFileSync(file, "utf8")).meshes[0].lookupsRefused).toEqual({ brokerUrl: team.b.url, at: expect.any(Number) });
      }
    }
  }, 60_000);
});

/** Makes the refusal note `field` of the first mesh in `dir`'s config `ms` older. */
function ageNote(dir: string, field: "eventsRefused" | "lookupsRefused", ms: number): void {
  const file = join(dir, "config.json");
  const cfg = JSON.parse(readFileSync(file, "utf8"));
  cfg.meshes[0][field].at -= ms;
  writeFileSync(file, JSON.stringify(cfg), { mode: 0o600 });
}
