// An owner without the mesh's newest key epoch: the same owner key on two machines (a restored
// backup) where the other one rotated, or a backup older than a rotation. Members take keys only
// from the owner, so nobody can send the key back: the messages must say `rekey`, doctor must see
// it, rekey must queue the key for the owner key's other machines too, and a restore must never
// drop an epoch the machine held. Also: doctor counts members who left since the last rotation.
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, cliTeam, ok, type CliResult } from "../helpers/cli.ts";
import type { LocalConfig, MeshEntry } from "../../src/client/local/config-file.ts";
import { makeMeshKey } from "../../src/client/mesh-session.ts";

const PASS = "correct horse battery staple\n";
const meshOf = (dir: string): MeshEntry => (JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as LocalConfig).meshes[0]!;
const epochs = (dir: string) => meshOf(dir).meshKeys.map((k) => k.epoch);
type Check = { check: string; ok: boolean; detail: string; fix: string | null };
const doctorCheck = async (dir: string, suffix: string): Promise<Check | undefined> => ((await cli(dir, ["doctor", "--json"])).json().checks as Check[]).find((c) => c.check.endsWith(suffix));
const text = (r: CliResult) => r.stdout + r.stderr;

describe("owner key epochs", () => {
  test("the same owner key on two machines: rekey on one queues the key for the other, whose refusal and doctor say how out", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const [alice, bob] = team.dirs;
    const alice2 = join(team.root, "alice2");
    const file = join(team.root, "alice.cmbk");
    ok(await cli(alice, ["backup", file, "--passphrase-stdin"], { stdin: PASS }));
    const restored = ok(await cli(alice2, ["restore", file, "--passphrase-stdin"], { stdin: PASS }));
    // The shared mailbox is said, with the command that does not remove the identity.
    expect(restored.stdout).toContain(`run \`claudemesh leave ${team.mesh.slug} --yes --forget\` (a plain leave would remove this identity from the mesh)`);

    ok(await cli(alice2, ["rekey"]));
    // The original machine is behind; doctor sees it, and the refusal names rekey, not inbox alone.
    expect(await doctorCheck(alice, ": mesh key epoch")).toMatchObject({ ok: false, detail: expect.stringContaining("the mesh is at epoch 1, this machine has epoch 0"), fix: expect.stringContaining("claudemesh rekey") });
    const refused = await cli(alice, ["topic", "post", "general", "from the old laptop"]);
    expect({ code: refused.code, stderr: refused.stderr }).toEqual({ code: 3, stderr: expect.stringContaining("run `claudemesh rekey`: it makes a new epoch that every member gets. Posts sealed under epoch 1 stay unreadable here.") });
    expect(refused.stderr).not.toContain("which brings the new key");

    // The rekey queued the key in this owner key's own mailbox: inbox on the other machine takes it.
    const inbox = ok(await cli(alice, ["inbox"]));
    expect(inbox.stderr).toContain("Received mesh keys (epoch 1).");
    expect(epochs(alice)).toEqual([0, 1]);
    expect(await doctorCheck(alice, ": mesh key epoch")).toMatchObject({ ok: true });
    ok(await cli(alice, ["topic", "post", "general", "from the old laptop, now readable"]));
    // The rotating machine reads nothing of its own copy as a message and keeps its keys.
    const own = ok(await cli(alice2, ["inbox", "--json"]));
    expect(text(own)).not.toContain("Received mesh keys");
    expect(epochs(alice2)).toEqual([0, 1]);
    const read = ok(await cli(bob, ["inbox", "--json"])).json();
    expect(JSON.stringify(read)).toContain("from the old laptop, now readable");
  }, 90_000);

  test("an owner restored from a backup older than a rotation: history, post and doctor point at rekey, which heals what follows", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const [alice, bob] = team.dirs;
    const alice2 = join(team.root, "alice2");
    const file = join(team.root, "alice-old.cmbk");
    ok(await cli(alice, ["backup", file, "--passphrase-stdin"], { stdin: PASS }));
    ok(await cli(alice, ["rekey"]));
    ok(await cli(alice, ["inbox"])); // the original machine takes its own copy: nothing is left for the restored one
    ok(await cli(bob, ["inbox"]));
    ok(await cli(bob, ["topic", "post", "general", "under epoch 1"]));
    ok(await cli(alice, ["leave", team.mesh.slug, "--yes", "--forget"])); // the old laptop is retired

    ok(await cli(alice2, ["restore", file, "--passphrase-stdin"], { stdin: PASS }));
    ok(await cli(alice2, ["inbox"]));
    expect(epochs(alice2)).toEqual([0]);
    const history = ok(await cli(alice2, ["topic", "history", "general"]));
    expect(history.stdout).toContain("#? (cannot read: unknown_epoch)");
    expect(history.stdout).toContain("run `claudemesh rekey`");
    expect(history.stdout).not.toContain("the owner sends it to every member");
    const refused = await cli(alice2, ["topic", "post", "general", "hello?"]);
    expect({ code: refused.code, stderr: refused.stderr }).toEqual({ code: 3, stderr: expect.stringContaining("claudemesh rekey") });
    expect(await doctorCheck(alice2, ": mesh key epoch")).toMatchObject({ ok: false, fix: expect.stringContaining("claudemesh rekey") });

    const rekey = ok(await cli(alice2, ["rekey", "--json"])).json();
    expect({ epoch: rekey.epoch, sentTo: rekey.sentTo }).toEqual({ epoch: 2, sentTo: 1 });
    ok(await cli(alice2, ["topic", "post", "general", "under epoch 2"]));
    ok(await cli(bob, ["inbox"]));
    expect(JSON.stringify(ok(await cli(bob, ["topic", "history", "general", "--json"])).json())).toContain("under epoch 2");
    // Epoch 1 stays unreadable for this owner, and the hint says so rather than promising a key.
    const after = ok(await cli(alice2, ["topic", "history", "general"]));
    expect(after.stdout).toContain("they stay unreadable here; everything sent from now on is readable.");
    expect(await doctorCheck(alice2, ": mesh key epoch")).toMatchObject({ ok: true });
  }, 90_000);

  test("a rekey stopped between saving its key and key_rotate: posts are sealed under the mesh's epoch, doctor says so, and rekey finishes it", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const [alice, bob] = team.dirs;
    // What a rekey leaves when it stops right after saving epoch 1 (moderate.ts rotate saves
    // first): the key on this machine only, nothing sent, the broker still at epoch 0.
    const file = join(alice, "config.json");
    const config = JSON.parse(readFileSync(file, "utf8")) as LocalConfig;
    config.meshes[0]!.meshKeys.push(makeMeshKey(1));
    writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
    expect(await doctorCheck(alice, ": mesh key epoch")).toMatchObject({ ok: false, detail: expect.stringContaining("this machine holds epoch 1, above the mesh's 0: a rekey or kick saved that key here and stopped before the broker recorded it"), fix: expect.stringMatching(/^claudemesh rekey \(finishes the rotation/) });

    ok(await cli(alice, ["topic", "post", "general", "after the stopped rekey"]));
    const read = (await cli(bob, ["topic", "history", "general", "--json"])).json();
    expect(read.messages.map((m: { ok: boolean; message?: { body: string } }) => (m.ok ? m.message!.body : "unreadable"))).toEqual(["after the stopped rekey"]);

    const rekey = ok(await cli(alice, ["rekey", "--json"])).json();
    expect({ epoch: rekey.epoch, sentTo: rekey.sentTo }).toEqual({ epoch: 2, sentTo: 1 });
    expect(await doctorCheck(alice, ": mesh key epoch")).toMatchObject({ ok: true, detail: "this machine holds epoch 2, the mesh's newest" });
    ok(await cli(alice, ["topic", "post", "general", "under epoch 2"]));
    ok(await cli(bob, ["inbox"]));
    expect(JSON.stringify(ok(await cli(bob, ["topic", "history", "general", "--json"])).json())).toContain("under epoch 2");
  }, 90_000);

  test("restore --force keeps the key epochs the machine holds and the backup lacks; doctor sees a member behind", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const [alice, bob] = team.dirs;
    const file = join(team.root, "bob-old.cmbk");
    ok(await cli(bob, ["backup", file, "--passphrase-stdin"], { stdin: PASS }));
    ok(await cli(alice, ["rekey"]));
    expect(await doctorCheck(bob, ": mesh key epoch")).toMatchObject({ ok: false, detail: expect.stringContaining("the mesh is at epoch 1, this machine has epoch 0"), fix: expect.stringMatching(/^claudemesh inbox/) });
    ok(await cli(bob, ["inbox"]));
    expect(await doctorCheck(bob, ": mesh key epoch")).toMatchObject({ ok: true, detail: "this machine holds epoch 1, the mesh's newest" });

    const r = await cli(bob, ["restore", file, "--passphrase-stdin", "--force", "--json"], { stdin: PASS });
    expect({ code: r.code, keptKeys: r.json().keptKeys }).toEqual({ code: 0, keptKeys: [{ slug: team.mesh.slug, meshId: team.mesh.meshId, epochs: [1] }] });
    expect(epochs(bob)).toEqual([0, 1]);
    const human = ok(await cli(bob, ["restore", file, "--passphrase-stdin", "--force"], { stdin: PASS }));
    expect(human.stdout).toContain(`Kept the mesh key epochs this machine held and the backup lacks: ${team.mesh.slug} (epoch 1).`);
    ok(await cli(bob, ["topic", "post", "general", "still under epoch 1"]));
  }, 90_000);

  test("in several meshes, doctor's fix for a member behind the mesh's key epoch names the mesh, and runs as given", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const [alice, bob] = team.dirs;
    ok(await cli(bob, ["new", "Side", "--broker", team.b.url, "--display-name", "bob"]));
    ok(await cli(alice, ["rekey"]));
    const fix = (await doctorCheck(bob, `${team.mesh.slug}: mesh key epoch`))?.fix;
    expect(fix).toStartWith(`claudemesh inbox --mesh ${team.mesh.slug} (`);
    ok(await cli(bob, fix!.replace(/ \(.*$/, "").split(" ").slice(1)));
    expect(await doctorCheck(bob, `${team.mesh.slug}: mesh key epoch`)).toMatchObject({ ok: true });
  }, 60_000);

  test("doctor asks the owner to rekey after a member left on its own, as after a removal; in several meshes the fix names the mesh", async () => {
    await using team = await cliTeam(["alice", "bob", "carol"]);
    const [alice, , carol] = team.dirs;
    ok(await cli(carol, ["leave", team.mesh.slug, "--yes"]));
    const carolKey = team.mesh.members.carol!.pubkey.slice(0, 12);
    expect(await doctorCheck(alice, ": key rotation")).toMatchObject({ ok: false, detail: expect.stringMatching(new RegExp(`: "carol" \\(${carolKey}\\) \\(left\\)$`)), fix: "claudemesh rekey" });
    // In a second mesh too, a bare `rekey` is refused ("choose one with --mesh"): the fix names
    // the mesh, and runs as given.
    ok(await cli(alice, ["new", "Side", "--broker", team.b.url, "--display-name", "alice"]));
    const fix = (await doctorCheck(alice, `${team.mesh.slug}: key rotation`))?.fix;
    expect(fix).toBe(`claudemesh rekey --mesh ${team.mesh.slug}`);
    expect(ok(await cli(alice, [...fix!.split(" ").slice(1), "--json"])).json().sentTo).toBe(1);
    expect(await doctorCheck(alice, ": key rotation")).toMatchObject({ ok: true, detail: "no member removed or left since the last rotation" });
  }, 60_000);

  test("doctor names a gone member by key prefix too: a member called as the owner is not the owner", async () => {
    await using team = await cliTeam(["root"]);
    const [root] = team.dirs;
    const twin = join(team.root, "twin");
    const { link } = ok(await cli(root, ["invite", "--json"])).json();
    const twinKey = ok(await cli(twin, ["join", link, "--name", "root", "--json"])).json().member.pubkey as string;
    ok(await cli(twin, ["leave", team.mesh.slug, "--yes"]));
    const check = await doctorCheck(root, ": key rotation");
    expect(check?.detail).toEndWith(`: "root" (${twinKey.slice(0, 12)}) (left)`);
    const human = await cli(root, ["doctor"]);
    expect(human.stdout).toContain(`"root" (${twinKey.slice(0, 12)}) (left)`);
  }, 60_000);
});
