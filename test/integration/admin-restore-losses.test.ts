// `admin restore` of a backup older than a kick brings the kicked member back (docs/operations.md
// "Backup and restore"): the restore compares the replaced database's audit chains with the
// backup's (docs/protocol.md §9) and lists each kick, ban, key rotation, grant and invite
// revocation it undoes, with the command that does it again; a replaced database it cannot read
// is said to be so.
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { admin } from "../helpers/admin.ts";
import { cli, cliEnv, cliMesh, identities, MAIN, ok } from "../helpers/cli.ts";
import { serveProcess, spawnBroker } from "../helpers/process.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { freePort } from "../helpers/real-proxy.ts";

/** A broker on `port`: the members' configs name its URL, so a restart must keep it. */
async function brokerOn(dataDir: string, port: number) {
  const s = serveProcess(["--port", String(port), "--data-dir", dataDir], { env: { ...process.env, CLAUDEMESH_LOG_LEVEL: "info" } });
  await s.waitFor(/broker listening/);
  return { proc: s.proc, url: `http://127.0.0.1:${port}`, [Symbol.asyncDispose]: s[Symbol.asyncDispose] };
}

/** Runs `line`, a redo as the restore printed it, in a shell whose `claudemesh` is this CLI with
 *  the config in `configDir`: the printed words themselves, not what the test thinks they mean. */
async function runPrinted(configDir: string, line: string) {
  const proc = Bun.spawn(["sh", "-c", `claudemesh() { "$CM_BUN" run "$CM_MAIN" "$@"; }; ${line}`], { env: { ...cliEnv(configDir), CM_BUN: process.execPath, CM_MAIN: MAIN }, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/** The redo printed under entry `what` (a regex on its line), with who runs it. */
function redoOf(undone: string, what: RegExp): { who: string; redo: string } {
  const m = undone.match(new RegExp(`${what.source}.*\n {6}(.+?): (claudemesh .*)\n`));
  if (!m) throw new Error(`no redo for ${what} in:\n${undone}`);
  return { who: m[1]!, redo: m[2]! };
}

test("a restore names what it undid after the backup, with the commands to redo it", async () => {
  const dataDir = tempDir("cm-restore-losses-");
  await using ids = identities(4);
  const [alice, bob, carol, dave] = ids.dirs as [string, string, string, string];
  const port = await freePort();
  let file: string;
  let inviteId: string;
  let mesh: Awaited<ReturnType<typeof cliMesh>>;
  {
    await using broker = await brokerOn(dataDir, port);
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
  const id = mesh.meshId;
  const key = (n: string) => mesh.members[n]!.pubkey;
  const short = (n: string) => `${key(n).slice(0, 12)}…`;
  expect(undone).toContain(`  mesh team-x (id ${id}):\n`);
  expect(undone).toContain(`member_revoked: "bob" (${short("bob")}) was kicked: the restore makes them a member again\n      the owner: claudemesh kick --mesh=${id} -- ${key("bob")}\n`);
  expect(undone).toContain(`member_revoked: "carol" (${short("carol")}) was banned: the restore makes them a member again\n      the owner: claudemesh ban --mesh=${id} --reason=spam -- ${key("carol")}\n`);
  expect(undone).toMatch(new RegExp(`key_rotated: key epoch 1 .*\\n {6}the owner: claudemesh rekey --mesh=${id}\\n`));
  expect(undone).toContain(`grant_changed: "dave" (${short("dave")}) blocked the owner\n      "dave" (${short("dave")}): claudemesh block --mesh=${id} -- ${key("alice")}\n`);
  expect(undone).toContain(`invite_revoked: invite ${inviteId} was revoked: it works again\n      the owner or an admin: claudemesh invite revoke --mesh=${id} -- ${inviteId}\n`);
  // The printed commands, run as printed, do it again.
  {
    await using broker = await brokerOn(dataDir, port);
    for (const [dir, what] of [[alice, /was kicked/], [alice, /was banned/], [dave, /blocked the owner/], [alice, /invite_revoked/]] as const) {
      const { redo } = redoOf(undone, what);
      const run = await runPrinted(dir, redo);
      expect({ redo, code: run.code, stderr: run.stderr }).toEqual({ redo, code: 0, stderr: expect.any(String) });
    }
    // bob and carol, members again after the restore, are removed again.
    expect((await cli(bob, ["peers"])).code).not.toBe(0);
    expect((await cli(carol, ["peers"])).code).not.toBe(0);
    broker.proc.kill("SIGTERM");
    expect(await broker.proc.exited).toBe(0);
  }
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

// Review of session 33: the redo named the member by the display name in the replaced chain. A
// second "bob" who joined after the backup and was kicked by key printed `claudemesh kick bob`,
// which removes the original bob, and said the restore made the kicked one a member again, though
// the backup never held them.
test("a removal of a member who joined after the backup needs no redo; redos name members by key", async () => {
  const dataDir = tempDir("cm-restore-losses-");
  await using ids = identities(3);
  const [alice, bob, bob2] = ids.dirs as [string, string, string];
  const port = await freePort();
  let file: string;
  let mesh: Awaited<ReturnType<typeof cliMesh>>;
  let bob2Key: string;
  {
    await using broker = await brokerOn(dataDir, port);
    mesh = await cliMesh(broker.url, [[alice, "alice"], [bob, "bob"]]);
    file = ok(await admin(["backup", "--data-dir", dataDir, "--json"]), "backup").json().file;
    const { link } = ok(await cli(alice, ["invite", "--json"]), "invite").json();
    bob2Key = ok(await cli(bob2, ["join", link, "--display-name", "bob", "--json"]), "join as a second bob").json().member.pubkey;
    ok(await cli(alice, ["kick", bob2Key.slice(0, 12)]), "kick the second bob by key");
    // The original bob blocks the owner: the owner's name, not its member id, is printed.
    ok(await cli(bob, ["block", "alice"]), "block");
    // The owner as a grant's recipient is named as such, not by its member id.
    ok(await cli(alice, ["block", mesh.members.bob!.pubkey]), "owner blocks bob");
    broker.proc.kill("SIGTERM");
    expect(await broker.proc.exited).toBe(0);
  }
  const r = await admin(["restore", file, "--data-dir", dataDir, "--force"]);
  expect(r.code).toBe(0);
  const undone = r.stdout.slice(r.stdout.indexOf("UNDONE by this restore"));
  expect(undone).toContain(`member_revoked: "bob" (${bob2Key.slice(0, 12)}…) joined after the backup and was kicked: the restored mesh does not hold them, nothing to redo\n`);
  expect(undone).not.toContain("claudemesh kick");
  expect(undone).not.toContain("makes them a member again");
  const bobKey = mesh.members.bob!.pubkey;
  expect(undone).toContain(`grant_changed: "bob" (${bobKey.slice(0, 12)}…) blocked the owner\n      "bob" (${bobKey.slice(0, 12)}…): claudemesh block --mesh=${mesh.meshId} -- ${mesh.members.alice!.pubkey}\n`);
  expect(undone).toContain(`grant_changed: the owner blocked "bob" (${bobKey.slice(0, 12)}…)\n      the owner: claudemesh block --mesh=${mesh.meshId} -- ${bobKey}\n`);
  // The original bob is still a member after the restore, and nothing printed removes him.
  {
    await using broker = await brokerOn(dataDir, port);
    ok(await cli(bob, ["peers"]), "the original bob is still a member");
    broker.proc.kill("SIGTERM");
    expect(await broker.proc.exited).toBe(0);
  }
}, 120_000);
