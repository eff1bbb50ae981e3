// The mesh owner's direct messages bring the mesh keys (docs/protocol.md §11.5), and a member's own
// grant entry that takes `dm` from the owner drops them like any DM (§5.9). The CLI's inbox and
// topic history say so where keys are waited for (cli-grants-owner.test.ts); a Claude Code session
// said nothing: mesh_inbox answered "No new messages." while posts waited for a key that could not
// come, and a refused post told the model that reading its messages would bring the key. Real
// broker on port 0, the real CLI, the real MCP server over stdio.
import { describe, expect, test } from "bun:test";
import { cli, cliTeam, ok, until } from "../helpers/cli.ts";
import { startMcp, waitConnected } from "../helpers/mcp.ts";

describe("a member whose grant drops the owner's direct messages, in a Claude Code session", () => {
  test("mesh_inbox and a refused post say that the keys cannot come, and how to let them through; once let through, neither does", async () => {
    await using team = await cliTeam(["alice", "bob", "carol"]);
    const { dirs: [alice, bob], mesh } = team;
    const prefix = mesh.members.alice!.pubkey.slice(0, 12);
    await using s = await startMcp(bob, "sess-bob-keys");
    await waitConnected(s);
    ok(await cli(bob, ["revoke", "alice", "dm"]));
    ok(await cli(alice, ["kick", "carol"])); // rotates: the keys sent to bob are dropped
    ok(await cli(alice, ["topic", "post", "general", "after the rekey"]));
    const fix = `This member does not let the mesh owner send it direct messages, which is how the mesh keys come: the user runs claudemesh grant ${prefix} dm --mesh ${mesh.slug} in a terminal, then claudemesh inbox --mesh ${mesh.slug}.`;
    let inbox = "";
    await until(async () => (inbox = (await s.call("mesh_inbox")).text).includes("use a mesh key"), "the sealed post counted by mesh_inbox", 10_000);
    // Before: "No new messages." and nothing else.
    expect(inbox).toBe(`No new messages.\n\n1 message(s) in mesh ${mesh.slug} use a mesh key this session does not have yet; they are shown once the owner's keys come. ${fix}`);
    const post = await s.call("mesh_send", { to: "#general", message: "hello" });
    expect(post).toEqual({ isError: true, text: expect.stringMatching(/^forbidden: The mesh key was rotated to epoch 1 and this member has epoch 0: read your messages first .*, then send again\..* This member does not let the mesh owner/) });
    expect(post.text.endsWith(fix)).toBe(true);

    // Let through again: the same wait is said without the note, and the next rotation's keys come.
    ok(await cli(bob, ["grant", prefix, "dm"]));
    expect((await s.call("mesh_inbox")).text).toBe(`No new messages.\n\n1 message(s) in mesh ${mesh.slug} use a mesh key this session does not have yet; they are shown once the owner's keys come.`);
    expect(await s.call("mesh_send", { to: "#general", message: "hello" })).toEqual({ isError: true, text: expect.stringMatching(/then send again\.( The owner was also asked for it again, in case its message was lost or refused\.)?$/) });
    ok(await cli(alice, ["rekey"]));
    ok(await cli(alice, ["topic", "post", "general", "readable again"]));
    let read = "";
    await until(async () => (read += (await s.call("mesh_inbox")).text).includes("readable again"), "the post under the new key", 10_000);
    expect(read).toContain("after the rekey");
    expect((await s.call("mesh_inbox")).text).toBe("No new messages.");
  }, 60_000);
});
