// "Did you mean …?" in the MCP tools (src/client/name-hints.ts, shared with the CLI's
// cli-name-hints.test.ts): a real MCP client over stdio against a real broker. A mistyped topic or
// peer in mesh_send is answered with the name it is near, not only with the broker's "No topic
// #deplyos … Create it first" that sent Claude off to create a topic nobody meant. A name near
// nothing keeps the plain answer. Each names the mesh, and every command it suggests carries its
// --mesh: the user runs it in a terminal whose CLAUDEMESH_MESH may name another mesh (session 33).
import { expect, test } from "bun:test";
import { cli, cliTeam, ok } from "../helpers/cli.ts";
import { startMcp, waitConnected } from "../helpers/mcp.ts";

test("mesh_send to a mistyped topic or peer names the nearest one in its error", async () => {
  await using team = await cliTeam(["alice", "bob"]);
  const [alice] = team.dirs;
  const slug = team.mesh.slug;
  ok(await cli(alice, ["topic", "create", "deploys"]));
  await using a = await startMcp(alice, "sess-alice-hints");
  await waitConnected(a);
  const send = (to: string) => a.call("mesh_send", { to, message: "x" });

  expect(await send("#deplyos")).toEqual({ isError: true, text: `unknown_recipient: No topic #deplyos in mesh ${slug}. Did you mean #deploys? (claudemesh topic list --mesh ${slug} lists them.)` });
  expect(await send("bobb")).toEqual({ isError: true, text: 'unknown_recipient: No peer matches "bobb". Did you mean "bob"? (mesh_peers lists them.)' });
  // Nothing near: the advice to create it, and the resolver's own, as before.
  expect(await send("#design")).toEqual({ isError: true, text: `unknown_recipient: No topic #design in mesh ${slug}. Create it first: claudemesh topic create design --mesh ${slug}` });
  expect(await send("zed")).toEqual({ isError: true, text: 'unknown_recipient: No peer matches "zed". List names with mesh_peers, or give a public-key prefix (≥ 6 hex).' });
}, 60_000);
