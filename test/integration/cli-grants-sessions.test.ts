// A member's grant entry and its sessions' own entries, as the CLI sets and lists them
// (docs/protocol.md §5.9: the broker looks the sender's member key up first, so a member's entry
// covers all of their sessions and their own entries then do nothing). The CLI must say when a
// session's entry stops or starts applying, must not list one that does nothing as if it did, and
// `grant <peer> all` must leave no entry behind, or a session could never be blocked alone again.
// The sentence about a blocked sender's drops is said for a block that applies, not one overridden.
import { describe, expect, test } from "bun:test";
import { cli, cliTeam, ok, sessionOf } from "../helpers/cli.ts";
import { sendText } from "../helpers/mesh.ts";
import { BLOCKED_NOTE } from "../../src/client/block-note.ts";

/** The session's peer row as bob's `peers` lists it. */
const sessionRow = async (dir: string) => (ok(await cli(dir, ["peers", "--json"])).json().peers as { kind: string; displayName: string; pubkey: string }[]).find((p) => p.kind === "session")!;

describe("cli grants: member and session entries", () => {
  test("`grant <member> all` after a block removes the entry: one session of theirs can be blocked alone again", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { b, dirs: [alice, bob] } = team;
    const alicePub = team.mesh.members.alice!.pubkey;
    const bobPub = team.mesh.members.bob!.pubkey;
    const shop = await sessionOf(b.url, alice, "/home/alice/shop");
    const session = await sessionRow(bob);

    ok(await cli(bob, ["block", "alice"]));
    const undo = await cli(bob, ["grant", "alice", "all", "--json"]);
    expect({ code: undo.code, json: undo.json() }).toEqual({ code: 0, json: { peer: alicePub, name: "alice", caps: ["dm", "broadcast", "group", "topic"], changed: true, entryRemoved: true } });
    // No entry is left: alice gets the defaults as everyone does, not an entry pinned to them.
    expect(ok(await cli(bob, ["grants", "--json"])).json().grants).toEqual([]);

    const blockShop = await cli(bob, ["block", session.displayName]);
    expect({ code: blockShop.code, stderr: blockShop.stderr }).toEqual({ code: 0, stderr: "" });
    // The session's block applies: its broadcast is not queued for bob, alice's own still is.
    const pending = () => b.ctx.store.pendingCount(team.mesh.meshId, [bobPub]);
    const before = await pending();
    await sendText(shop, "*", "from the shop session");
    expect(await pending()).toBe(before);
    ok(await cli(alice, ["send", "*", "from alice's terminal"]));
    expect(await pending()).toBe(before + 1);

    // The same undo said in words, for a pinned entry: grant all on an entry that gives everything.
    ok(await cli(bob, ["revoke", "alice", "dm"]));
    const human = await cli(bob, ["grant", "alice", "dm"]);
    expect({ code: human.code, stdout: human.stdout.split("\n")[0] }).toEqual({ code: 0, stdout: "alice may now: dm, broadcast, group, topic, as everyone may by default (their entry is removed)." });
    shop.close();
  }, 60_000);

  test("a member's first entry says which of their sessions' entries stop applying, and `grants` marks them", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { b, dirs: [alice, bob] } = team;
    const alicePub = team.mesh.members.alice!.pubkey;
    const shop = await sessionOf(b.url, alice, "/home/alice/shop");
    const session = await sessionRow(bob);
    const shopLabel = `"${session.displayName}" (${session.pubkey.slice(0, 12)})`;
    const aliceLabel = `"alice" (${alicePub.slice(0, 12)})`;

    ok(await cli(bob, ["block", session.displayName]));
    const revoke = await cli(bob, ["revoke", "alice", "dm"]);
    expect({ code: revoke.code, stdout: revoke.stdout }).toEqual({
      code: 0,
      stdout:
        "alice may now: broadcast, group, topic.\n" +
        `Their session ${shopLabel} has its own entry (blocked), which no longer applies: a member's entry covers all of their sessions. To limit only that session again: claudemesh grant alice all, then claudemesh block ${session.pubkey.slice(0, 12)}\n`,
    });
    const listed = await cli(bob, ["grants"]);
    // Entries come in key order; the marked one names whose entry applies instead.
    const lines = listed.stdout.split("\n").slice(0, 3).map((l) => l.replace(/ {2,}/g, "  "));
    expect({ code: listed.code, first: lines[0], rest: lines.slice(1).sort() }).toEqual({
      code: 0,
      first: "Everyone else: dm, broadcast, group, topic.",
      rest: [`${aliceLabel}  broadcast, group, topic`, `${shopLabel}  blocked (not applied: the entry of ${aliceLabel} covers all of their sessions)`].sort(),
    });
    // A block not applied drops nothing: no sentence about drops under the list.
    expect(listed.stdout.split("\n").slice(3)).toEqual([""]);
    const json = ok(await cli(bob, ["grants", "--json"])).json().grants;
    expect(json.find((g: { peer: string }) => g.peer === session.pubkey)).toEqual({ peer: session.pubkey, name: session.displayName, caps: [], overriddenBy: alicePub });

    // Removing the member's entry gives the session's own entry back, and says so.
    const undo = await cli(bob, ["grant", "alice", "all"]);
    expect({ code: undo.code, stdout: undo.stdout }).toEqual({
      code: 0,
      stdout: "alice may now: dm, broadcast, group, topic, as everyone may by default (their entry is removed).\n" + `Their session ${shopLabel} has its own entry (blocked), which applies again.\n`,
    });
    expect(ok(await cli(bob, ["grants", "--json"])).json().grants).toEqual([{ peer: session.pubkey, name: session.displayName, caps: [] }]);
    expect(ok(await cli(bob, ["grants"])).stdout).toEndWith(`blocked\n${BLOCKED_NOTE}\n`);
    shop.close();
  }, 60_000);
});
