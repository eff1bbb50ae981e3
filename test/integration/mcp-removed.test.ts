// A mesh an MCP session can never use again: its member was kicked or banned (the broker closes it
// for good with 4001, 4002), or its session key cannot be saved. Its tools say why, at once,
// instead of "it reconnects by itself".
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, cliTeam, ok, until } from "../helpers/cli.ts";
import { startMcp } from "../helpers/mcp.ts";

test("after a ban, the session's tools say the member was banned, for good", async () => {
  await using t = await cliTeam(["alice", "bob"]);
  const [alice, bob] = t.dirs;
  await using s = await startMcp(bob, "sess-bob-banned");
  expect((await s.call("mesh_peers")).isError).toBe(false);
  ok(await cli(alice, ["ban", "bob"]));
  let r = await s.call("mesh_peers");
  await until(async () => (r = await s.call("mesh_peers")).text.includes("banned"), "the ban in mesh_peers");
  expect({ isError: r.isError, text: r.text }).toEqual({ isError: true, text: expect.stringContaining(`You were banned from the mesh "${t.mesh.slug}"`) });
  expect(r.text).not.toContain("reconnects by itself");
  // The member's `list` knows it too, without a refused command in a terminal first.
  const listed = await cli(bob, ["list", "--json"]);
  expect(listed.json().meshes[0]).toMatchObject({ slug: t.mesh.slug, removedAt: expect.any(Number) });
  await s.close();
}, 60_000);

test("a session key that cannot be saved closes the mesh with the reason at once (no 5 s wait, no 'reconnects by itself')", async () => {
  await using t = await cliTeam(["alice"]);
  const [alice] = t.dirs;
  writeFileSync(join(alice, "sessions"), "not a directory", { mode: 0o600 });
  await using s = await startMcp(alice, "sess-alice-nokey");
  const started = performance.now();
  const r = await s.call("mesh_peers");
  expect({ isError: r.isError, text: r.text }).toEqual({ isError: true, text: expect.stringContaining("could not be saved") });
  expect(performance.now() - started).toBeLessThan(4000);
  await s.close();
}, 60_000);
