// `admin restore` of a backup older than a kick brings the kicked member back (docs/operations.md
// "Backup and restore"): the restore compares the replaced database's audit chains with the
// backup's (docs/protocol.md §9) and lists each kick, ban, key rotation, grant and invite
// revocation it undoes, with the command that does it again; a replaced database it cannot read
// is said to be so.
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { admin } from "../helpers/admin.ts";
import { cli, cliMesh, identities, ok } from "../helpers/cli.ts";
import { spawnBroker } from "../helpers/process.ts";
import { tempDir } from "../helpers/temp-dir.ts";

test("a restore names what it undid after the backup, with the commands to redo it", async () => {
  const dataDir = tempDir("cm-restore-losses-");
  await using ids = identities(4);
  const [alice, bob, carol, dave] = ids.dirs as [string, string, string, string];
  let file: string;
  let inviteId: string;
  let mesh: Awaited<ReturnType<typeof cliMesh>>;
  {
    await using broker = await spawnBroker(dataDir);
    mesh = await cliMesh(broker.url, [[alice, "alice"], [bob, "bob"], [carol, "carol"], [dave, "dave"]]);
    expect(mesh.slug).toBe("team-x");
    inviteId = ok(await cli(alice, ["invite", "--json"]), "invite").json().inviteId;
    file = ok(await admin(["backup", "--data-dir", dataDir, "--json"]), "backup").json().file;
    // After the backup: a kick, a ban (each rotates the key), a block, an invite revoked, a join.
    ok(await cli(alice, ["kick", "bob"]), "kick");
    ok(await cli(alice, ["ban", "carol", "--reason", "spam"]), "ban");
    ok(await cli(dave, ["block", "alice"]), "block");
    ok(await cli(alice, ["invite", "revoke", inviteId]), "invite revoke");
    broker.proc.kill("SIGTERM");
    expect(await broker.proc.exited).toBe(0);
  }
  const r = await admin(["restore", file, "--data-dir", dataDir, "--force"]);
  expect(r.code).toBe(0);
  const undone = r.stdout.slice(r.stdout.indexOf("UNDONE by this restore"));
  expect(undone).toMatch(/member_revoked: bob was kicked: the restore makes them a member again\n {6}the owner: claudemesh kick bob --mesh team-x\n/);
  expect(undone).toMatch(/member_revoked: carol was banned: .*\n {6}the owner: claudemesh ban carol --mesh team-x --reason spam\n/);
  expect(undone).toMatch(/key_rotated: key epoch 1 .*\n {6}the owner: claudemesh rekey --mesh team-x\n/);
  expect(undone).toContain(`grant_changed: dave blocked the owner\n      dave: claudemesh block ${mesh.members.alice!.pubkey} --mesh team-x\n`);
  expect(undone).toContain(`invite_revoked: invite ${inviteId} was revoked: it works again\n      the owner or an admin: claudemesh invite revoke ${inviteId} --mesh team-x\n`);
}, 120_000);

test("a replaced database whose audit log cannot be read is said to be so", async () => {
  const dataDir = tempDir("cm-restore-losses-");
  await using ids = identities(1);
  let file: string;
  {
    await using broker = await spawnBroker(dataDir);
    await cliMesh(broker.url, [[ids.dirs[0]!, "alice"]]);
    file = ok(await admin(["backup", "--data-dir", dataDir, "--json"]), "backup").json().file;
    broker.proc.kill("SIGTERM");
    expect(await broker.proc.exited).toBe(0);
  }
  writeFileSync(join(dataDir, "claudemesh.db"), "not a database");
  const r = await admin(["restore", file, "--data-dir", dataDir, "--force", "--json"]);
  expect(r.code).toBe(0);
  expect(r.json().losses).toEqual({ comparable: false, why: expect.any(String) });
  const human = await admin(["restore", file, "--data-dir", dataDir, "--force"]);
  expect(human.stdout).toContain("the backup holds all of the replaced database's audit log: no kick, ban, key rotation or grant was undone");
}, 120_000);
