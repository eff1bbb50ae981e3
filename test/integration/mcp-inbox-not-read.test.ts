// mesh_inbox when a mesh cannot be read: its broker is down, or the member was removed. It used to
// answer "No new messages." either way, which tells the model nothing waits, while messages wait on
// the broker (docs/claude-code.md: while a mesh is reconnecting the tools say so). mesh_status's
// advice to call again "once they reconnect" is only for a mesh that will.
import { expect, test } from "bun:test";
import { startBroker, tempDir } from "../helpers/broker.ts";
import { cli, cliTeam, identities, ok, until } from "../helpers/cli.ts";
import { startMcp, waitConnected } from "../helpers/mcp.ts";

const RECONNECTING = "Not connected to mesh team right now (reconnecting); it reconnects by itself. Try again shortly.";

test("mesh_inbox with the broker down says the mesh was not read, and reads it once the broker is back", async () => {
  await using ids = identities(2);
  const [alice, bob] = ids.dirs as [string, string];
  const dataDir = tempDir("cm-inbox-down-");
  await using first = await startBroker({}, { dataDir });
  const port = first.port;
  ok(await cli(alice, ["new", "Team", "--broker", first.url, "--display-name", "alice"]));
  const { link } = ok(await cli(alice, ["invite", "--json"])).json();
  ok(await cli(bob, ["join", link, "--name", "bob"]));
  await using s = await startMcp(bob, "sess-inbox-down");
  await waitConnected(s);
  await first.stop();
  // The server has seen the drop once mesh_peers says it is reconnecting.
  await until(async () => (await s.call("mesh_peers")).text.includes("(reconnecting)"), "the server to see the broker gone");

  const down = await s.call("mesh_inbox");
  expect(down).toEqual({ isError: true, text: `Not read from:\n- team: unavailable: ${RECONNECTING}\nCall mesh_inbox again once they reconnect.` });

  await using again = await startBroker({ port }, { dataDir });
  ok(await cli(alice, ["send", "bob", "waited on the broker"]));
  await waitConnected(s, 20_000);
  const up = await s.call("mesh_inbox");
  expect({ isError: up.isError, text: up.text }).toEqual({ isError: false, text: expect.stringContaining("> waited on the broker") });
}, 60_000);

test("a removed member's mesh_inbox says why, and mesh_status does not promise a reconnect", async () => {
  await using team = await cliTeam(["alice", "bob"]);
  const [alice, bob] = team.dirs;
  await using s = await startMcp(bob, "sess-inbox-removed");
  await waitConnected(s);
  ok(await cli(alice, ["kick", "bob"]));
  await until(async () => (await s.call("mesh_peers")).text.includes("revoked:"), "the server to see the kick");

  const inbox = await s.call("mesh_inbox");
  expect({ isError: inbox.isError, text: inbox.text }).toEqual({ isError: true, text: expect.stringMatching(/^Not read from:\n- team-x: revoked: You were removed from the mesh "team-x" .*forgets the mesh on this machine\.$/s) });
  const status = await s.call("mesh_status", { status: "dnd" });
  expect({ isError: status.isError, text: status.text }).toEqual({ isError: true, text: expect.stringMatching(/^Not updated\. Not applied on:\n- team-x: revoked: .*forgets the mesh on this machine\.$/s) });
}, 60_000);
