// A member removed while a command of theirs is connected (`inbox --follow`): a kick's close
// (4001) is recorded in config.json as a refused connect is (src/cli/context.ts), so `list` says
// the mesh is removed, and the follower stops with the refusal's exit code (3). A `leave` in
// another terminal (4003) stops it the same way; that `leave` removes the mesh from the config.
import { expect, test } from "bun:test";
import { cli, cliStream, cliTeam, ok, until } from "../helpers/cli.ts";

const listed = async (dir: string) => ok(await cli(dir, ["list", "--json"])).json().meshes.map((m: { slug: string; removedAt: number | null }) => [m.slug, m.removedAt === null ? "current" : "removed"]);

test("a follower kicked by the owner says so, exits 3, and `list` shows the mesh removed", async () => {
  await using team = await cliTeam(["alice", "carol"]);
  const [alice, carol] = team.dirs;
  const { slug } = team.mesh;
  await using follower = cliStream(carol, ["inbox", "--follow"]);
  await until(() => follower.stderr().includes("Following"), "carol's follow banner");
  ok(await cli(alice, ["kick", "carol"]), "kick");
  await follower.finished();
  expect({ code: follower.proc.exitCode, said: follower.stderr().split("\n").filter((l) => l.startsWith("claudemesh: ")) }).toEqual({
    code: 3,
    said: [`claudemesh: You were removed from the mesh "${slug}" by an owner or admin; this key can never connect to it again. They can invite you back with a new invite. \`claudemesh leave ${slug} --yes\` forgets the mesh on this machine.`],
  });
  expect(await listed(carol)).toEqual([[slug, "removed"]]);
}, 60_000);

test("a follower whose member left in another terminal says so and exits 3", async () => {
  await using team = await cliTeam(["alice", "bob"]);
  const bob = team.dirs[1];
  const { slug } = team.mesh;
  await using follower = cliStream(bob, ["inbox", "--follow"]);
  await until(() => follower.stderr().includes("Following"), "bob's follow banner");
  ok(await cli(bob, ["leave", slug, "--yes"]), "leave");
  await follower.finished();
  expect({ code: follower.proc.exitCode, said: follower.stderr().split("\n").filter((l) => l.startsWith("claudemesh: ")) }).toEqual({
    code: 3,
    said: [`claudemesh: You left the mesh "${slug}" (claudemesh leave, here or in another terminal); this key can never connect to it again. Only an owner or admin can let you back in, with a new invite.`],
  });
  // `leave` forgot the mesh; the follower's record of the close did not bring it back.
  expect(await listed(bob)).toEqual([]);
}, 60_000);
