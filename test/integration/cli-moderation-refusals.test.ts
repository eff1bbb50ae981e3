// kick/ban that does not happen leaves no trace on the owner's machine. The owner records a removal
// (config `removed`, admission.ts) before asking the broker for it; a kick that never reaches the
// broker (its own member, a reason too long for the frame) is refused before that record, and one
// the broker refuses is taken back. A record the broker never carried out is named by rekey.
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, cliTeam, ok, sessionOf } from "../helpers/cli.ts";
import { MeshError } from "../../src/protocol/errors.ts";
import { MAX_REASON_LEN } from "../../src/protocol/limits.ts";
import type { LocalConfig, MeshEntry } from "../../src/client/local/config-file.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";

const meshOf = (dir: string): MeshEntry => (JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as LocalConfig).meshes[0]!;

describe("cli moderation refusals", () => {
  test("the owner kicking itself is refused before anything is recorded; later members still get keys", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { dirs: [alice, bob] } = team;
    const self = team.mesh.members.alice!.pubkey;
    for (const name of ["alice", self.slice(0, 12)]) {
      const kick = await cli(alice, ["kick", name]);
      expect({ code: kick.code, stderr: kick.stderr }).toEqual({ code: 2, stderr: `claudemesh: "alice" (${self.slice(0, 12)}) is you: the mesh owner cannot be removed. Nothing was changed.\n` });
    }
    expect(meshOf(alice).removed).toBeUndefined();
    const rekey = ok(await cli(alice, ["rekey", "--json"])).json();
    expect(rekey).toEqual({ epoch: 1, sentTo: 1, skipped: [], heldBack: [] });
    ok(await cli(bob, ["inbox"]));
    expect(meshOf(bob).meshKeys.map((k) => k.epoch)).toEqual([0, 1]);
  }, 60_000);

  test("an admin kicking itself is pointed at leave; an owner key already in the record (from before the check) shuts no one out", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { dirs: [alice, bob], root } = team;
    const dave = join(root, "dave");
    ok(await cli(dave, ["join", ok(await cli(alice, ["invite", "--role", "admin", "--json"])).json().link, "--name", "dave"]));
    const kick = await cli(dave, ["kick", "dave"]);
    expect({ code: kick.code, stderr: kick.stderr }).toEqual({ code: 2, stderr: `claudemesh: "dave" (${meshOf(dave).publicKey.slice(0, 12)}) is you: to leave the mesh, run \`claudemesh leave\`. Nothing was changed.\n` });
    // What the unchecked self-kick left in an owner's config: its own key recorded as removed.
    const path = join(alice, "config.json");
    const cfg = JSON.parse(readFileSync(path, "utf8")) as LocalConfig;
    cfg.meshes[0]!.removed = { keys: [cfg.meshes[0]!.publicKey], invites: [], kept: [] };
    writeFileSync(path, JSON.stringify(cfg), { mode: 0o600 });
    expect(ok(await cli(alice, ["rekey", "--json"])).json()).toEqual({ epoch: 1, sentTo: 2, skipped: [], heldBack: [] });
    ok(await cli(bob, ["inbox"]));
    expect(meshOf(bob).meshKeys.map((k) => k.epoch)).toEqual([0, 1]);
  }, 60_000);

  test("kick or ban naming one session (a Claude Code session's name) is refused with whose it is; nothing is removed", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { b, dirs: [alice, bob] } = team;
    const bobKey = team.mesh.members.bob!.pubkey;
    const session = await sessionOf(b.url, bob, "/home/bob/api");
    const listed = (ok(await cli(alice, ["peers", "--json"])).json().peers as { kind: string; displayName: string; pubkey: string }[]).find((p) => p.kind === "session")!;
    for (const verb of ["kick", "ban"]) {
      const refused = await cli(alice, [verb, listed.displayName]);
      expect({ code: refused.code, stdout: refused.stdout, stderr: refused.stderr }).toEqual({
        code: 2,
        stdout: "",
        stderr:
          `claudemesh: "${listed.displayName}" (${listed.pubkey.slice(0, 12)}) is one session of the member "bob" (${bobKey.slice(0, 12)}): ${verb} removes a member with all of their sessions, for good (their key can never connect again). Nothing was changed.\n` +
          `  fix: claudemesh ${verb} ${bobKey.slice(0, 12)} removes the member; claudemesh block ${listed.pubkey.slice(0, 12)} stops only this session from writing to you\n`,
      });
    }
    expect(meshOf(alice).removed).toBeUndefined();
    ok(await cli(alice, ["send", "bob", "still in"]));
    expect(ok(await cli(bob, ["inbox", "--json"])).json().messages.map((m: { body: string }) => m.body)).toEqual(["still in"]);
    // The commands it names do what it says: the block takes the session's key prefix.
    expect(ok(await cli(alice, ["block", listed.pubkey.slice(0, 12), "--json"])).json()).toMatchObject({ peer: listed.pubkey, caps: [] });
    expect(ok(await cli(alice, ["kick", bobKey.slice(0, 12), "--json"])).json()).toMatchObject({ name: "bob" });
    await session.close();
  }, 60_000);

  test("a reason longer than the frame allows is refused before anything is recorded", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { dirs: [alice, bob] } = team;
    const kick = await cli(alice, ["kick", "bob", "--reason", "x".repeat(MAX_REASON_LEN + 1), "--json"]);
    expect({ code: kick.code, json: kick.json() }).toEqual({
      code: 2,
      json: { error: { code: "usage", message: `--reason is ${MAX_REASON_LEN + 1} characters; the limit is ${MAX_REASON_LEN}.`, fix: "see `claudemesh kick --help`" } },
    });
    expect(meshOf(alice).removed).toBeUndefined();
    ok(await cli(alice, ["send", "bob", "still here"]));
    expect(ok(await cli(bob, ["inbox", "--json"])).json().messages.map((m: { body: string }) => m.body)).toEqual(["still here"]);
    // Exactly the limit is accepted.
    const atLimit = await cli(alice, ["kick", "bob", "--reason", "y".repeat(MAX_REASON_LEN), "--json"]);
    expect({ code: atLimit.code, name: atLimit.json().name }).toEqual({ code: 0, name: "bob" });
  }, 60_000);

  test("a kick the broker refuses is taken back, and only what it added (an earlier removal stays)", async () => {
    await using team = await cliTeam(["alice", "bob", "carol", "dave"]);
    const { b, dirs: [alice, , carol] } = team;
    ok(await cli(alice, ["kick", "dave"]));
    const afterDave = meshOf(alice).removed;
    expect(afterDave?.keys).toEqual([team.mesh.members.dave!.pubkey]);
    // The broker refuses this one, as it would if someone removed carol in between.
    const store = b.ctx.store as SqliteStore;
    const revokeMember = store.revokeMember.bind(store);
    (store as unknown as { revokeMember: () => Promise<unknown> }).revokeMember = async () => {
      throw new MeshError("conflict", "That member was already removed.");
    };
    const kick = await cli(alice, ["kick", "carol", "--json"]);
    (store as unknown as { revokeMember: typeof revokeMember }).revokeMember = revokeMember;
    expect({ code: kick.code, json: kick.json() }).toEqual({ code: 5, json: { error: { code: "conflict", message: "That member was already removed." } } });
    expect(meshOf(alice).removed).toEqual(afterDave);
    // carol still gets what is sent to her, and the next rotation's key.
    ok(await cli(alice, ["send", "carol", "you are still in"]));
    expect(ok(await cli(alice, ["rekey", "--json"])).json()).toMatchObject({ sentTo: 2, heldBack: [] });
    ok(await cli(carol, ["inbox"]));
    expect(meshOf(carol).meshKeys.at(-1)!.epoch).toBe(meshOf(alice).meshKeys.at(-1)!.epoch);
  }, 60_000);

  test("rekey names the members this machine recorded as removed that the broker still lists as active", async () => {
    await using team = await cliTeam(["alice", "bob", "carol"]);
    const { b, dirs: [alice] } = team;
    // A broker that answers the kick but records nothing (as the record is written before asking).
    const store = b.ctx.store as SqliteStore;
    const revokeMember = store.revokeMember.bind(store);
    (store as unknown as { revokeMember: () => Promise<unknown> }).revokeMember = async () => ({ invitesRevoked: [] });
    (b.ctx.hub as unknown as { markRemoved: () => void }).markRemoved = () => {};
    ok(await cli(alice, ["kick", "carol"]));
    (store as unknown as { revokeMember: typeof revokeMember }).revokeMember = revokeMember;
    expect(ok(await cli(alice, ["rekey", "--json"])).json()).toEqual({ epoch: 2, sentTo: 1, skipped: [], heldBack: ["carol"] });
    expect(ok(await cli(alice, ["rekey"])).stdout).toBe(
      "Mesh key rotated to epoch 3 and sent to 1 member(s).\n" +
        "Not sent to 1 member(s) the broker lists as active but this machine recorded as removed, or as enrolled through the invite of a member you removed (carol).\n" +
        "If you removed them and the broker did not, run the kick again; if they belong in the mesh, invite them again.\n",
    );
  }, 60_000);
});
