// A Claude Code session whose member is kicked or banned is closed for good by the broker (4001,
// 4002): its tools then say so, instead of "it reconnects by itself".
import { expect, test } from "bun:test";
import { cli, cliTeam, ok } from "../helpers/cli.ts";
import { startMcp } from "../helpers/mcp.ts";

test("after a ban, the session's tools say the member was banned, for good", async () => {
  await using t = await cliTeam(["alice", "bob"]);
  const [alice, bob] = t.dirs;
  const s = await startMcp(bob, "sess-bob-banned");
  expect((await s.call("mesh_peers")).isError).toBe(false);
  ok(await cli(alice, ["ban", "bob"]));
  let r = await s.call("mesh_peers");
  for (let i = 0; i < 50 && !r.text.includes("banned"); i++) {
    await Bun.sleep(100);
    r = await s.call("mesh_peers");
  }
  expect({ isError: r.isError, text: r.text }).toEqual({ isError: true, text: expect.stringContaining(`You were banned from the mesh "${t.mesh.slug}"`) });
  expect(r.text).not.toContain("reconnects by itself");
  await s.close();
}, 60_000);
