// A mistyped @group (docs: a mistyped topic or peer name is answered with the name it is near):
// `send @frontnd` while members are in @frontend is refused naming @frontend, from a terminal and
// from Claude Code's mesh_send alike; a name near no group keeps the advice to join it.
import { expect, test } from "bun:test";
import { cli, cliTeam, ok } from "../helpers/cli.ts";
import { startMcp, waitConnected } from "../helpers/mcp.ts";

test("send @frontnd names @frontend (CLI and mesh_send); @backend still says how to join it", async () => {
  await using team = await cliTeam(["alice", "bob"]);
  const [alice, bob] = team.dirs;
  ok(await cli(bob, ["group", "join", "frontend"]));

  const typo = await cli(alice, ["send", "@frontnd", "anyone?"]);
  expect({ code: typo.code, stdout: typo.stdout, stderr: typo.stderr }).toEqual({ code: 4, stdout: "", stderr: "claudemesh: No member is in group @frontnd. Did you mean @frontend? (claudemesh group list lists them.)\n" });
  const far = await cli(alice, ["send", "@backend", "anyone?"]);
  expect({ code: far.code, stderr: far.stderr }).toEqual({ code: 4, stderr: "claudemesh: No member is in group @backend. A member joins it with: claudemesh group join backend\n" });

  await using s = await startMcp(alice, "sess-group-typo");
  await waitConnected(s);
  const tool = await s.call("mesh_send", { to: "@frontnd", message: "anyone?" });
  expect(tool).toEqual({ isError: true, text: `unknown_recipient: No member is in group @frontnd in mesh ${team.mesh.slug}. Did you mean @frontend? (\`claudemesh group list --mesh ${team.mesh.slug}\` in a terminal lists them.)` });
}, 60_000);
