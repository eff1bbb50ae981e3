// Pins docs/protocol.md §4.3.19: `member_list` says who ended each membership (`revokedBy`), so a
// member who left by itself is told apart from one an owner kicked with the typed reason "left"
// (both rows have `revokedReason: "left"`). Real broker, real CLI for the kick and the leave, the
// owner's real client for the list; the CLI's own answer about a former member says which it was.
import { describe, expect, test } from "bun:test";
import { cli, cliTeam, ok, sessionOf } from "../helpers/cli.ts";

describe("leaving and being removed", () => {
  test("a kick with the reason \"left\" is a removal by the owner; a leave is the member's own", async () => {
    await using team = await cliTeam(["alice", "bob", "carol"]);
    const { b, dirs: [alice, , carol], mesh } = team;
    const { alice: a, bob: bo, carol: c } = mesh.members as Record<string, { memberId: string; pubkey: string }>;
    ok(await cli(alice, ["kick", "bob", "--reason", "left", "--json"]));
    ok(await cli(carol, ["leave", mesh.slug, "--yes"]));

    const owner = await sessionOf(b.url, alice, "/home/alice");
    try {
      const { members } = await owner.client.request("member_list", {});
      const departures = members.map((m) => ({ name: m.displayName, reason: m.revokedReason, by: m.revokedBy }));
      expect(departures).toEqual([
        { name: "alice", reason: null, by: null },
        { name: "bob", reason: "left", by: a!.memberId },
        { name: "carol", reason: "left", by: c!.memberId },
      ]);
    } finally {
      owner.close();
    }

    // Kicking either again: the CLI says which of the two happened, with the broker's conflict code.
    const again = async (name: string) => (await cli(alice, ["kick", name])).stderr;
    expect(await again("bob")).toMatch(new RegExp(`^claudemesh: "bob" \\(${bo!.pubkey.slice(0, 12)}\\) was already removed from this mesh \\(`));
    expect(await again("carol")).toMatch(new RegExp(`^claudemesh: "carol" \\(${c!.pubkey.slice(0, 12)}\\) left this mesh \\(`));
  }, 60_000);
});
