// Someone in several meshes is told which one each result is about (s21 team review, findings 3
// and 4): every mesh-scoped result names the mesh, --json carries its slug and id, a next-step
// hint carries the --mesh it needs, and a slug two meshes share is refused with the way to give
// the id that the command at hand takes (`leave <id>`, not `--mesh`). In one mesh, nothing changes.
import { describe, expect, test } from "bun:test";
import { cli, cliTeam, ok } from "../helpers/cli.ts";
import { startBroker } from "../helpers/broker.ts";

describe("the mesh named in results", () => {
  test("in several meshes every result names the one acted on; in one mesh the output is as before", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { b, dirs: [alice, bob], mesh } = team;
    const slug = mesh.slug;
    // Single mesh (bob): exactly what it printed before.
    expect(ok(await cli(bob, ["status", "idle"])).stdout).toBe("Status: idle.\n");
    expect(ok(await cli(bob, ["status", "idle", "--json"])).json()).toEqual({ status: "idle", released: 0 });

    // alice makes a second mesh: the next step it suggests is one that works as printed.
    const made = ok(await cli(alice, ["new", "Side", "--slug", "side", "--broker", b.url, "--display-name", "alice"]));
    expect(made.stdout).toContain("  claudemesh invite --mesh side  # a link for a teammate (single use, 7 days)\n  claudemesh install             # let");
    expect(ok(await cli(alice, ["invite", "--mesh", "side"])).stdout).toContain("ic://join/");

    // The shell's CLAUDEMESH_MESH chose: each result says which mesh it was.
    const env = { env: { CLAUDEMESH_MESH: slug } };
    const lines = {
      status: ok(await cli(alice, ["status", "idle"], env)).stdout,
      summary: ok(await cli(alice, ["summary", "hacking"], env)).stdout,
      topic: ok(await cli(alice, ["topic", "create", "ideas"], env)).stdout,
      inbox: ok(await cli(alice, ["inbox"], env)).stdout,
      peers: ok(await cli(alice, ["peers"], env)).stdout.split("\n")[0],
    };
    expect(lines).toEqual({
      status: `Status: idle. (in ${slug})\n`,
      summary: `Summary: hacking (in ${slug})\n`,
      topic: `Created #ideas; you are its lead. Others join with: claudemesh topic join ideas (in ${slug})\n`,
      inbox: `No new messages. (in ${slug})\n`,
      peers: `In ${slug}:`,
    });
    expect(ok(await cli(alice, ["status", "dnd", "--json"], env)).json()).toEqual({ status: "dnd", released: 0, mesh: { slug, id: mesh.meshId } });
    // A result that names the mesh itself is left as it was.
    expect(ok(await cli(alice, ["whoami", "--mesh", "side"])).stdout).toStartWith("side: alice (owner)");
  }, 90_000);

  test("two meshes with one slug: leave is told `leave <id>`, --mesh is told `--mesh <id>`, and leave says which one it left", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    await using other = await startBroker();
    const { dirs: [, bob], mesh } = team;
    const slug = mesh.slug;
    const carol = `${team.root}/carol`;
    const theirs = ok(await cli(carol, ["new", "Theirs", "--slug", slug, "--broker", other.url, "--display-name", "carol", "--json"])).json();
    ok(await cli(bob, ["join", ok(await cli(carol, ["invite", "--json"])).json().link]));
    const ids = [mesh.meshId, theirs.mesh.id];

    const leave = await cli(bob, ["leave", slug, "--yes"]);
    expect({ code: leave.code, leaveHint: ids.map((id) => leave.stderr.includes(`claudemesh leave ${id} (on `)), mentionsFlag: leave.stderr.includes("--mesh") }).toEqual({ code: 2, leaveHint: [true, true], mentionsFlag: false });
    const peers = await cli(bob, ["peers", "--mesh", slug]);
    expect({ code: peers.code, flagHint: ids.map((id) => peers.stderr.includes(`--mesh ${id} (on `)) }).toEqual({ code: 2, flagHint: [true, true] });
    const viaEnv = await cli(bob, ["peers"], { env: { CLAUDEMESH_MESH: slug } });
    expect({ code: viaEnv.code, envHint: ids.map((id) => viaEnv.stderr.includes(`CLAUDEMESH_MESH=${id} (on `)) }).toEqual({ code: 2, envHint: [true, true] });

    // The hinted command works, and its line says which of the two it left.
    const left = ok(await cli(bob, ["leave", theirs.mesh.id, "--yes"]));
    expect(left.stdout).toBe(`Left "Theirs" (${slug} on ${new URL(other.url).host}); its keys are deleted from this machine.\n`);
    expect(ok(await cli(bob, ["list", "--json"])).json().meshes.map((m: { meshId: string }) => m.meshId)).toEqual([mesh.meshId]);
  }, 90_000);
});
