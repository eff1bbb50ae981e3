// A suggested command acts on the mesh the refusal was about (session 33): in several meshes, a
// topic or group that is not there is refused naming the mesh searched and the other mesh of yours
// that has it, and every command suggested carries the --mesh that acts on the mesh searched, so
// that a shell's CLAUDEMESH_MESH naming another cannot make it run there. A slug two meshes share
// is named by the id in the `leave` that join's name-clash warning and list's REMOVED row suggest.
import { describe, expect, test } from "bun:test";
import { cli, cliTeam, ok } from "../helpers/cli.ts";
import { startBroker } from "../helpers/broker.ts";

const failed = (r: { code: number; stderr: string }) => ({ code: r.code, stderr: r.stderr });

describe("hints that name the mesh", () => {
  test("#topic and @group refusals name the mesh, the other mesh that has it, and carry --mesh; the advice works as printed", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { b, dirs: [alice, bob], mesh } = team;
    const slug = mesh.slug;
    ok(await cli(alice, ["new", "Lab", "--slug", "lab", "--broker", b.url, "--display-name", "alice"]));
    ok(await cli(alice, ["topic", "create", "deploys", "--mesh", "lab"]));
    ok(await cli(alice, ["group", "join", "frontend", "--mesh", "lab"]));
    // The shell's variable names lab; the command chose the other mesh.
    const inLab = { env: { CLAUDEMESH_MESH: "lab" } };

    const create = `Create it first in ${slug}: claudemesh topic create deploys --mesh ${slug}`;
    expect(failed(await cli(alice, ["send", `${slug}:#deploys`, "x"], inLab))).toEqual({ code: 4, stderr: `claudemesh: No topic #deploys in ${slug}. Did you mean lab:#deploys? (a topic #deploys is in your mesh lab.) ${create}\n` });
    expect(failed(await cli(alice, ["send", "#deploys", "x", "--mesh", slug], inLab))).toEqual({ code: 4, stderr: `claudemesh: No topic #deploys in ${slug}. Did you mean lab:#deploys? (a topic #deploys is in your mesh lab.) ${create}\n` });
    expect(failed(await cli(alice, ["topic", "post", "deploys", "x", "--mesh", slug], inLab))).toEqual({ code: 4, stderr: `claudemesh: No topic #deploys in ${slug}. A topic #deploys is in your mesh lab: add --mesh lab. ${create}\n` });
    expect(failed(await cli(alice, ["topic", "history", "deploys", "--mesh", slug], inLab))).toEqual({ code: 4, stderr: `claudemesh: No topic #deploys in ${slug}. A topic #deploys is in your mesh lab: add --mesh lab. List them with claudemesh topic list --mesh ${slug}.\n` });
    expect(failed(await cli(alice, ["topic", "join", "nosuch", "--mesh", slug], inLab))).toEqual({ code: 4, stderr: `claudemesh: No topic #nosuch in ${slug}. List them with claudemesh topic list --mesh ${slug}.\n` });
    expect(failed(await cli(alice, ["send", `${slug}:@frontend`, "x"], inLab))).toEqual({
      code: 4,
      stderr: `claudemesh: No member is in group @frontend in ${slug}. Did you mean lab:@frontend? (a group @frontend is in your mesh lab.) A member joins it with: claudemesh group join frontend --mesh ${slug}\n`,
    });
    expect(failed(await cli(alice, ["send", `${slug}:@frontnd`, "x"], inLab))).toEqual({ code: 4, stderr: `claudemesh: No member is in group @frontnd in ${slug}. A member joins it with: claudemesh group join frontnd --mesh ${slug}\n` });
    ok(await cli(bob, ["group", "join", "frontend"]));
    expect(failed(await cli(alice, ["send", `${slug}:@frontnd`, "x"], inLab))).toEqual({ code: 4, stderr: `claudemesh: No member is in group @frontnd in ${slug}. Did you mean @frontend? (claudemesh group list --mesh ${slug} lists them.)\n` });

    // A topic not joined: the join command carries --mesh too.
    ok(await cli(bob, ["topic", "create", "ops-only"]));
    expect(failed(await cli(alice, ["topic", "post", "ops-only", "x", "--mesh", slug], inLab))).toEqual({ code: 3, stderr: `claudemesh: You have not joined #ops-only. Join it with \`claudemesh topic join ops-only --mesh ${slug}\`, then send again.\n` });
    expect(failed(await cli(alice, ["topic", "create", "ops-only", "--mesh", slug], inLab))).toEqual({ code: 5, stderr: `claudemesh: Topic #ops-only already exists in this mesh. Join it with: claudemesh topic join ops-only --mesh ${slug}\n` });

    // The advice, run as printed with CLAUDEMESH_MESH=lab still set, acts on the mesh meant.
    ok(await cli(alice, ["topic", "create", "deploys", "--mesh", slug], inLab));
    ok(await cli(alice, ["topic", "join", "ops-only", "--mesh", slug], inLab));
    ok(await cli(alice, ["send", `${slug}:#deploys`, "x"], inLab));
    const topics = ok(await cli(alice, ["topic", "list", "--json", "--mesh", slug])).json().topics.map((t: { name: string; joined: boolean }) => `${t.name}:${t.joined}`);
    expect(topics.sort()).toEqual(["deploys:true", "general:true", "ops-only:true"]);
  }, 90_000);

  test("two meshes with one slug: join's name-clash warning and list's REMOVED row say `leave <id>`", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    await using other = await startBroker();
    const { dirs: [, bob], mesh } = team;
    const carol = `${team.root}/carol`;
    const theirs = ok(await cli(carol, ["new", "Theirs", "--slug", mesh.slug, "--broker", other.url, "--display-name", "carol", "--json"])).json();
    // bob takes carol's name in her mesh, whose slug is his other mesh's too.
    const joined = await cli(bob, ["join", ok(await cli(carol, ["invite", "--json"])).json().link, "--display-name", "carol"]);
    expect(joined.code).toBe(0);
    expect(joined.stderr).toContain(`To take another name, leave (claudemesh leave ${theirs.mesh.id} --yes), ask for a new invite`);

    // carol removes him (by key: he goes by her name there); his next command there is refused
    // and recorded, and list's row for it says how to forget it.
    const key = ok(await cli(bob, ["whoami", "--mesh", theirs.mesh.id, "--json"])).json().identities[0].pubkey as string;
    ok(await cli(carol, ["kick", key.slice(0, 12)]));
    expect((await cli(bob, ["peers", "--mesh", theirs.mesh.id])).code).toBe(3);
    const row = ok(await cli(bob, ["list"])).stdout.split("\n").find((l) => l.includes("REMOVED"));
    expect(row).toContain(`; claudemesh leave ${theirs.mesh.id} --yes forgets it)`);
    ok(await cli(bob, ["leave", theirs.mesh.id, "--yes"]));
  }, 90_000);
});
