// kick/ban/rekey. Removing a member rotates the mesh key: what is posted afterwards is sealed with
// an epoch the removed member never receives, so even the ciphertext taken straight from the
// broker's database does not open with their saved keys, while a remaining member reads it.
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startBroker } from "../helpers/broker.ts";
import { cli, cliMesh, identities, ok, cliTeam } from "../helpers/cli.ts";
import { MeshSession, keysBody, makeMeshKey } from "../../src/client/mesh-session.ts";
import { requestKeys } from "../../src/client/key-request.ts";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";
import { connect } from "../helpers/mesh.ts";
import type { LocalConfig, MeshEntry } from "../../src/client/local/config-file.ts";
import { toPush } from "../../src/broker/delivery.ts";
import { MESSAGE_SELECT, messageFromRow, type MessageRow } from "../../src/store/sqlite/rows.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";

const meshOf = (dir: string): MeshEntry => (JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as LocalConfig).meshes[0]!;

/** A MeshSession with exactly what this identity has saved on disk. */
const sessionOf = (dir: string) => {
  const m = meshOf(dir);
  return new MeshSession({ meshId: m.meshId, publicKey: m.publicKey, secretKey: m.secretKey, memberPubkey: m.publicKey, memberSecretKey: m.secretKey, ownerPubkey: m.ownerPubkey }, m.meshKeys);
};

describe("cli moderation", () => {
  test("after kick, the removed member is refused and cannot open new posts even from the database; others read them", async () => {
    await using team = await cliTeam(["alice", "bob", "carol"]);
    const { b, dirs: [alice, bob, carol] } = team;
    const { members } = team.mesh;
    expect(meshOf(carol).meshKeys.map((k) => k.epoch)).toEqual([0]);

    const kick = await cli(alice, ["kick", "carol", "--reason", "left the team", "--json"]);
    expect({ code: kick.code, json: kick.json() }).toEqual({ code: 0, json: expect.objectContaining({ name: "carol", keyEpoch: 1, openInvites: 0 }) });
    expect(meshOf(alice).meshKeys.map((k) => k.epoch)).toEqual([0, 1]);
    // Again: carol is no peer any more, and the answer says she was removed (it said "No peer matches").
    const again = await cli(alice, ["kick", "carol"]);
    expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 5, stderr: expect.stringMatching(new RegExp(`^claudemesh: "carol" \\(${members.carol!.pubkey.slice(0, 12)}\\) was already removed from this mesh \\(\\d{4}-[\\d-]+T[\\d:.]+Z\\); nothing to do\\.\n$`)) });
    expect(meshOf(alice).meshKeys.map((k) => k.epoch)).toEqual([0, 1]);

    const SECRET = "post-kick: the new office door code is 5512";
    const post = await cli(alice, ["topic", "post", "general", SECRET, "--json"]);
    expect(post.code).toBe(0);
    const messageId = post.json().messageId;

    // carol is refused at the door, in both output modes.
    const refused = await cli(carol, ["inbox"]);
    expect({ code: refused.code, stdout: refused.stdout, stderr: refused.stderr }).toEqual({ code: 3, stdout: "", stderr: expect.stringContaining(`You were removed from the mesh "${team.mesh.slug}"`) });
    const refusedJson = await cli(carol, ["inbox", "--json"]);
    expect({ code: refusedJson.code, json: refusedJson.json() }).toEqual({ code: 3, json: { error: { code: "revoked", message: expect.stringContaining("removed from the mesh") } } });
    // ... and `list`, which asks the broker nothing but its health, remembers the refusal.
    const listed = await cli(carol, ["list", "--json"]);
    expect(listed.json().meshes[0]).toMatchObject({ slug: team.mesh.slug, reachable: true, removedAt: expect.any(Number) });
    expect((await cli(carol, ["list"])).stdout).toContain(`REMOVED (refused since `);
    expect((await cli(bob, ["list", "--json"])).json().meshes[0]).toMatchObject({ reachable: true, removedAt: null });

    // The post's ciphertext, straight from the broker's database, as it would be pushed.
    const db = (b.ctx.store as SqliteStore).db;
    const row = db.query(`${MESSAGE_SELECT} WHERE m.id = ?`).get(messageId) as MessageRow;
    const frame = toPush(messageFromRow(row));
    expect({ kind: frame.kind, to: frame.to, from: frame.from.pubkey }).toEqual({ kind: "topic", to: "#general", from: members.alice!.pubkey });
    expect(meshOf(carol).meshKeys.map((k) => k.epoch)).toEqual([0]);
    expect(sessionOf(carol).open(frame)).toEqual({ ok: false, reason: "unknown_epoch", messageId });
    // Control: the same frame opens with the owner's keys, so the failure is carol's missing key.
    expect(sessionOf(alice).openForDisplay(frame)).toMatchObject({ ok: true, message: { body: SECRET } });

    // bob has not read the new key yet: a post from him now would be sealed under epoch 0, which
    // carol still holds, so it is refused with what to do (nothing reaches the broker).
    const stale = await cli(bob, ["topic", "post", "general", "sealed for the old epoch?", "--json"]);
    expect({ code: stale.code, json: stale.json() }).toEqual({ code: 3, json: { error: { code: "forbidden", message: expect.stringContaining("rotated to epoch 1 and this member has epoch 0") } } });
    // history shows the post as unreadable, and says where the key is.
    const unread = ok(await cli(bob, ["topic", "history", "general"])).stdout;
    expect(unread).toContain("#? (cannot read: unknown_epoch)");
    expect(unread).toContain("`claudemesh inbox` reads it");

    // bob still belongs: his inbox applies the new key (sent by alice at the kick) and reads the post.
    const bobInbox = await cli(bob, ["inbox", "--json"]);
    expect(bobInbox.code).toBe(0);
    expect({ ...bobInbox.json(), messages: bobInbox.json().messages.map((m: any) => [m.from.name, m.topic, m.body]) }).toEqual({ messages: [["alice", "general", SECRET]], dropped: 0, waitingForKeys: 0 });
    expect(meshOf(bob).meshKeys.map((k) => k.epoch)).toEqual([0, 1]);
    expect((await cli(bob, ["topic", "post", "general", "under epoch 1"])).code).toBe(0);

    // The broker recorded the removal and the rotation.
    const member = db.query("SELECT revoked_at, revoked_reason, banned FROM members WHERE id = ?").get(members.carol!.memberId);
    expect(member).toEqual({ revoked_at: expect.any(Number), revoked_reason: "left the team", banned: 0 });
    const audit = await cli(alice, ["audit", "log", "--json"]);
    expect(audit.code).toBe(0);
    expect(audit.json().entries.slice(-2).map((e: any) => [e.eventType, e.payload])).toEqual([
      ["member_revoked", { ban: false, memberId: members.carol!.memberId, reason: "left the team" }],
      ["key_rotated", { epoch: 1, reason: "kicked carol" }],
    ]);
  }, 60_000);

  test("ban marks the member banned; rekey is the owner's alone and reaches the remaining members", async () => {
    await using team = await cliTeam(["alice", "bob", "mallory"]);
    const { b, dirs: [alice, bob, mallory] } = team;
    const { members } = team.mesh;
    // A ban is per key: an invite still open lets its holder back in with a new one, which is said.
    ok(await cli(alice, ["invite", "--max-uses", "2"]));
    const ban = await cli(alice, ["ban", "mallory"]);
    expect({ code: ban.code, stdout: ban.stdout, stderr: ban.stderr }).toEqual({
      code: 0,
      stdout: `Banned "mallory" (${members.mallory!.pubkey.slice(0, 12)}); 0 connection(s) closed.\nMesh key rotated to epoch 1 and sent to 1 member(s); mallory cannot read anything sent from now on.\n`,
      stderr: "1 invite is still open, and a removed member holding one can join again under a new key: claudemesh invite list shows them, claudemesh invite revoke <id> closes one.\n",
    });
    const db = (b.ctx.store as SqliteStore).db;
    expect(db.query("SELECT banned, revoked_at IS NOT NULL AS revoked FROM members WHERE id = ?").get(members.mallory!.memberId)).toEqual({ banned: 1, revoked: 1 });
    // The owner's ban rotated at once: no rekey is due.
    const checks = (await cli(alice, ["doctor", "--json"])).json().checks as { check: string; ok: boolean }[];
    expect(checks.find((c) => c.check.endsWith(": key rotation"))).toMatchObject({ ok: true });

    const notOwner = await cli(bob, ["rekey", "--json"]);
    expect({ code: notOwner.code, json: notOwner.json() }).toEqual({ code: 3, json: { error: { code: "forbidden", message: expect.stringContaining("Only the mesh owner can rotate keys") } } });
    expect(meshOf(bob).meshKeys.map((k) => k.epoch)).toEqual([0]);

    const rekey = await cli(alice, ["rekey"]);
    expect({ code: rekey.code, stdout: rekey.stdout }).toEqual({ code: 0, stdout: "Mesh key rotated to epoch 2 and sent to 1 member(s).\n" });
    // bob's next read applies both keys and says so, as a sentence like every other status line.
    const keys = await cli(bob, ["inbox"]);
    expect({ code: keys.code, stderr: keys.stderr }).toEqual({ code: 0, stderr: "Received mesh keys (epoch 1).\nReceived mesh keys (epoch 2).\n" });
    ok(await cli(alice, ["send", "*", "sealed with epoch 2"]));
    const inbox = await cli(bob, ["inbox", "--json"]);
    expect({ code: inbox.code, bodies: inbox.json().messages.map((m: any) => m.body), waiting: inbox.json().waitingForKeys }).toEqual({ code: 0, bodies: ["sealed with epoch 2"], waiting: 0 });
    expect(meshOf(bob).meshKeys.map((k) => k.epoch)).toEqual([0, 1, 2]);
  }, 60_000);

  test("a member the broker lists without evidence gets no key: not at rekey, not by asking for it", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { b, dirs: [alice, bob] } = team;
    const mesh = team.mesh;
    // What a modified broker can do: add a key of its own to the member list.
    const fake = generateSigningKeypair();
    const fakeMember = { meshId: mesh.meshId, memberId: "mbr_injected01", keys: fake, displayName: "carol", role: "member" };
    (b.ctx.store as SqliteStore).db.run("INSERT INTO members (id, mesh_id, pubkey, display_name, role, joined_at) VALUES (?, ?, ?, 'carol', 'member', ?)", [fakeMember.memberId, mesh.meshId, fake.publicKey, Date.now()]);
    b.ctx.roster.invalidate(mesh.meshId);
    const spy = await connect(b.url, fakeMember);

    const rekey = await cli(alice, ["rekey", "--json"]);
    expect({ code: rekey.code, json: rekey.json() }).toEqual({ code: 0, json: { epoch: 1, sentTo: 1, skipped: ["carol"], heldBack: [] } });
    const human = await cli(alice, ["rekey"]);
    expect(human.stdout).toContain("Not sent to 1 member(s) whose enrolment this machine cannot check (carol)");

    // It asks the owner for the keys, as a member that joined before a rotation would.
    const session = new MeshSession({ meshId: mesh.meshId, publicKey: fake.publicKey, secretKey: fake.secretKey, memberPubkey: fake.publicKey, memberSecretKey: fake.secretKey, ownerPubkey: meshOf(alice).ownerPubkey }, []);
    await requestKeys(session, spy.client);
    const inbox = await cli(alice, ["inbox", "--json"]);
    expect(inbox.code).toBe(0);
    expect(inbox.stderr).not.toContain("Sent the mesh keys");
    // inbox exits once its answers are acknowledged, so stored: none was, and none can be pushed.
    const toSpy = (b.ctx.store as SqliteStore).db.query("SELECT COUNT(*) AS n FROM messages WHERE target = ?").get(fake.publicKey);
    expect(toSpy).toEqual({ n: 0 });
    expect(spy.messages.filter((m) => m.from.memberPubkey === meshOf(alice).ownerPubkey)).toEqual([]);

    // bob, enrolled through alice's invite, got every key.
    ok(await cli(bob, ["inbox"]));
    expect(meshOf(bob).meshKeys.map((k) => k.epoch)).toEqual([0, 1, 2]);
    spy.close();
  }, 60_000);

  test("an owner whose config is behind the broker (restored from an older backup) rotates above the broker's epoch", async () => {
    await using team = await cliTeam(["alice", "bob", "carol"]);
    const { dirs: [alice, bob, carol] } = team;
    const before = readFileSync(join(alice, "config.json"), "utf8"); // the backup: epoch 0 only
    ok(await cli(alice, ["rekey"]));
    ok(await cli(bob, ["inbox"]));
    const epoch1 = meshOf(bob).meshKeys.find((k) => k.epoch === 1)!.key;
    writeFileSync(join(alice, "config.json"), before, { mode: 0o600 });
    const kick = await cli(alice, ["kick", "carol", "--json"]);
    expect({ code: kick.code, epoch: kick.json().keyEpoch }).toEqual({ code: 0, epoch: 2 });
    ok(await cli(bob, ["inbox"]));
    // bob keeps his epoch-1 key (the owner's new message names 0 and 2 only) and now has epoch 2.
    expect(meshOf(bob).meshKeys.map((k) => k.epoch)).toEqual([0, 1, 2]);
    expect(meshOf(bob).meshKeys.find((k) => k.epoch === 1)!.key).toBe(epoch1);
    ok(await cli(alice, ["send", "*", "after the kick"]));
    const inbox = await cli(bob, ["inbox", "--json"]);
    expect(inbox.json().messages.map((m: { body: string }) => m.body)).toEqual(["after the kick"]);
  }, 60_000);

  test("a keys message that gives another key for an epoch already held is ignored", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { b, dirs: [alice, bob] } = team;
    const mesh = team.mesh;
    const held = meshOf(bob).meshKeys;
    const a = meshOf(alice);
    const peer = await connect(b.url, { meshId: a.meshId, memberId: a.memberId, keys: { publicKey: a.publicKey, secretKey: a.secretKey }, displayName: "alice", role: "owner" });
    const forged = [{ epoch: 0, key: makeMeshKey(0).key }, makeMeshKey(1)];
    await sessionOf(alice).send(peer.client, mesh.members.bob!.pubkey, keysBody(forged), { kind: "keys", priority: "now" });
    ok(await cli(bob, ["inbox"]));
    expect(meshOf(bob).meshKeys).toEqual([...held, forged[1]!]);
    peer.close();
  }, 60_000);

  test("a broker reporting an absurd key epoch cannot make the owner rotate to a key no post can use", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { b, dirs: [alice, bob] } = team;
    const store = b.ctx.store as SqliteStore;
    const getMesh = store.getMesh.bind(store);
    (store as unknown as { getMesh: typeof getMesh }).getMesh = async (id) => {
      const m = await getMesh(id);
      return m && { ...m, keyEpoch: 0xffff_ffff };
    };
    const rekey = await cli(alice, ["rekey", "--json"]);
    (store as unknown as { getMesh: typeof getMesh }).getMesh = getMesh;
    expect({ code: rekey.code, error: rekey.json().error.code }).toEqual({ code: 2, error: "invalid_argument" });
    expect(meshOf(alice).meshKeys.map((k) => k.epoch)).toEqual([0]); // nothing saved, nothing sent
    ok(await cli(bob, ["inbox"]));
    expect(meshOf(bob).meshKeys.map((k) => k.epoch)).toEqual([0]);
    ok(await cli(alice, ["topic", "post", "general", "still works"]));
  }, 60_000);

  test("kick and ban close the invite the member joined through (an admin's kick too); leaving keeps it open", async () => {
    // A kicked member rejoined under a new key with the link it still held; after an admin's kick
    // the owner's next rekey then sent it the new mesh key (the owner records only its own kicks).
    await using b = await startBroker();
    await using ids = identities(6);
    const [alice, dave, erin, fresh, gus, gus2] = ids.dirs as [string, string, string, string, string, string];
    await cliMesh(b.url, [[alice, "alice"]]);
    const admin = ok(await cli(alice, ["invite", "--role", "admin", "--json"])).json().link;
    ok(await cli(dave, ["join", admin, "--name", "dave", "--json"]));
    const team = ok(await cli(alice, ["invite", "--max-uses", "3", "--json"])).json();
    ok(await cli(erin, ["join", team.link, "--name", "erin", "--json"]));

    const kick = await cli(dave, ["kick", "erin", "--json"]);
    expect({ code: kick.code, revoked: kick.json().invitesRevoked }).toEqual({ code: 0, revoked: [team.inviteId] });
    const back = await cli(fresh, ["join", team.link, "--name", "erin2", "--json"]);
    expect({ code: back.code, error: back.json().error.code }).toEqual({ code: 5, error: "invite_revoked" });
    const audit = ok(await cli(alice, ["audit", "log", "--json"])).json().entries as { eventType: string; payload: Record<string, unknown> }[];
    expect(audit.filter((e) => e.eventType === "invite_revoked").map((e) => e.payload)).toEqual([{ inviteId: team.inviteId, reason: "used by a removed member" }]);
    // The owner's doctor says a rotation is due for the admin's kick, until the owner rekeys.
    const rotation = async () => ((await cli(alice, ["doctor", "--json"])).json().checks as { check: string }[]).find((c) => c.check.endsWith(": key rotation"));
    expect(await rotation()).toMatchObject({ ok: false, detail: expect.stringMatching(/: "erin" \([0-9a-f]{12}\)$/), fix: "claudemesh rekey" });
    expect(((await cli(dave, ["doctor", "--json"])).json().checks as { check: string }[]).some((c) => c.check.endsWith(": key rotation"))).toBe(false);
    const rekey = ok(await cli(alice, ["rekey", "--json"])).json();
    expect(rekey.sentTo).toBe(1); // dave only
    expect(await rotation()).toMatchObject({ ok: true, detail: "no member removed or left since the last rotation" });

    // Leaving is the member's own choice: the link it used still admits the others.
    const open = ok(await cli(alice, ["invite", "--max-uses", "3", "--json"])).json();
    ok(await cli(gus, ["join", open.link, "--name", "gus", "--json"]));
    ok(await cli(gus, ["leave", meshOf(gus).slug, "--yes"]));
    ok(await cli(gus2, ["join", open.link, "--name", "gus2", "--json"]));
  }, 90_000);

  test("a kicked member stays out even when the broker pretends the kick never happened, or enrolls a new key from its old link", async () => {
    await using b = await startBroker();
    await using ids = identities(4);
    const [alice, bob, carol, dave] = ids.dirs as [string, string, string, string];
    // carol joins with a link meant for two (dave uses the other place, before the kick).
    const { members, meshId } = await cliMesh(b.url, [
      [alice, "alice"],
      [bob, "bob"],
    ]);
    const team = ok(await cli(alice, ["invite", "--max-uses", "3", "--json"])).json().link;
    ok(await cli(carol, ["join", team, "--name", "carol", "--json"]));
    ok(await cli(dave, ["join", team, "--name", "dave", "--json"]));
    const carolKey = meshOf(carol).publicKey;
    const store = b.ctx.store as SqliteStore;
    // A modified broker answers the kick but records nothing: carol stays "active" in its lists.
    const revokeMember = store.revokeMember.bind(store);
    (store as unknown as { revokeMember: () => Promise<unknown> }).revokeMember = async () => ({ invitesRevoked: [] });
    (b.ctx.hub as unknown as { markRemoved: () => void }).markRemoved = () => {};
    const kick = await cli(alice, ["kick", "carol", "--json"]);
    (store as unknown as { revokeMember: typeof revokeMember }).revokeMember = revokeMember;
    expect(kick.json()).toMatchObject({ keyEpoch: 1 });
    expect(meshOf(alice).removed).toEqual({ keys: [carolKey], invites: [expect.any(String)], kept: expect.arrayContaining([members.bob!.pubkey, meshOf(dave).publicKey]) });
    // No keys message was addressed to carol's key; bob and dave (same link, joined before) got epoch 1.
    const toCarol = store.db.query("SELECT COUNT(*) AS n FROM messages WHERE target = ? AND created_at > ?").get(carolKey, Date.now() - 10_000) as { n: number };
    expect(toCarol.n).toBe(0);
    ok(await cli(bob, ["inbox"]));
    ok(await cli(dave, ["inbox"]));
    expect([meshOf(bob).meshKeys.length, meshOf(dave).meshKeys.length]).toEqual([2, 2]);

    // carol enrolls a fresh key with the link she still holds, and asks the owner for the keys.
    await using again = identities(1);
    const fresh = again.dirs[0]!;
    ok(await cli(fresh, ["join", team, "--name", "carol2", "--json"]));
    expect(meshOf(fresh).meshKeys.map((k) => k.epoch)).toEqual([0]); // the link's blob: the old key only
    // join exits once its key request is acknowledged: the inbox below has it to answer.
    const asked = store.db.query("SELECT COUNT(*) AS n FROM messages WHERE sender_pubkey = ? AND target = ?").get(meshOf(fresh).publicKey, meshOf(alice).ownerPubkey);
    expect(asked).toEqual({ n: 1 });
    ok(await cli(alice, ["inbox"])); // answers key requests it can vouch for
    ok(await cli(fresh, ["inbox"]));
    expect(meshOf(fresh).meshKeys.map((k) => k.epoch)).toEqual([0]);
    // A rekey does not reach the new key either: to the owner, both keys are removed.
    const rekey = ok(await cli(alice, ["rekey", "--json"])).json();
    expect(rekey).toEqual({ epoch: 2, sentTo: 2, skipped: [], heldBack: ["carol", "carol2"] });
    void meshId;
  }, 90_000);
});
