// The mesh owner's direct messages bring the mesh keys (docs/protocol.md §11.5), and the broker,
// which cannot tell a `keys` message from any other DM, drops them like any DM a grant refuses
// (§5.9). So a member who takes `dm` from the owner reads no topic, group or broadcast message
// after the next rotation, while the owner is told the keys were sent and the member's inbox said
// they were on their way. The CLI warns when it makes that change, and says it where keys wait.
import { describe, expect, test } from "bun:test";
import { cli, cliTeam, ok } from "../helpers/cli.ts";
import { connect } from "../helpers/mesh.ts";
import { loadConfig } from "../../src/client/local/config-file.ts";

describe("cli grants: the owner's direct messages", () => {
  test("revoke <owner> dm and block <owner> warn that the keys will not come, with the undo; other changes say nothing", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { dirs: [, bob] } = team;
    const alicePub = team.mesh.members.alice!.pubkey;
    const warning = `claudemesh: warning: "alice" (${alicePub.slice(0, 12)}) is the mesh owner, whose direct messages bring the mesh keys: from the next key rotation on you will read no topic, group or broadcast message, until you let them through again (claudemesh grant alice dm).\n`;
    const revoke = await cli(bob, ["revoke", "alice", "dm"]);
    expect({ code: revoke.code, stdout: revoke.stdout, stderr: revoke.stderr }).toEqual({ code: 0, stdout: "alice may now: broadcast, group, topic.\n", stderr: warning });
    const undo = await cli(bob, ["grant", "alice", "dm"]);
    expect({ code: undo.code, stderr: undo.stderr }).toEqual({ code: 0, stderr: "" });
    const narrow = await cli(bob, ["revoke", "alice", "broadcast"]);
    expect({ code: narrow.code, stderr: narrow.stderr }).toEqual({ code: 0, stderr: "" });
    const block = await cli(bob, ["block", "alice", "--json"]);
    expect({ code: block.code, caps: block.json().caps, stderr: block.stderr }).toEqual({ code: 0, caps: [], stderr: warning });
    // Already without dm: nothing new to warn about.
    const again = await cli(bob, ["grant", "alice", "topic"]);
    expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 0, stderr: "" });
  }, 60_000);

  test("an entry that already takes dm from the owner (an older CLI) is named where the keys are waited for", async () => {
    await using team = await cliTeam(["alice", "bob", "carol"]);
    const { b, dirs: [alice, bob] } = team;
    const alicePub = team.mesh.members.alice!.pubkey;
    // Set over the wire, as a CLI without the refusal did.
    const e = loadConfig(bob).meshes[0]!;
    const raw = await connect(b.url, { meshId: e.meshId, memberId: e.memberId, keys: { publicKey: e.publicKey, secretKey: e.secretKey }, displayName: "bob", role: "member" }, {}, { receive: "pull" } as never);
    await raw.client.request("grant_set", { peer: alicePub, caps: ["topic"] });
    raw.close();

    ok(await cli(alice, ["kick", "carol"]));
    ok(await cli(alice, ["topic", "post", "general", "after the rekey"]));
    const fix = `You do not let the owner send you direct messages, which is how the keys come: run claudemesh grant ${alicePub.slice(0, 12)} dm, then claudemesh inbox.`;
    const inbox = await cli(bob, ["inbox"]);
    expect({ code: inbox.code, stdout: inbox.stdout }).toEqual({ code: 0, stdout: `No new messages.\n(1 message(s) use a mesh key you do not have yet; they wait for the owner's keys. ${fix})\n` });
    const history = await cli(bob, ["topic", "history", "general"]);
    expect({ code: history.code, last: history.stdout.trimEnd().split("\n").at(-1) }).toEqual({ code: 0, last: fix });

    // Once dm is granted again, the next rotation's keys come through.
    ok(await cli(bob, ["grant", alicePub.slice(0, 12), "dm"]));
    ok(await cli(alice, ["rekey"]));
    ok(await cli(alice, ["topic", "post", "general", "readable again"]));
    const after = await cli(bob, ["inbox", "--json"]);
    expect(after.json().messages.map((m: { body: string }) => m.body)).toContain("readable again");
  }, 60_000);
});
