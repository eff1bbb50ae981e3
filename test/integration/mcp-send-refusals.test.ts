// The sending tools refuse the mistakes the CLI refuses, in words a model can act on (it has no
// terminal and no join tool): sending to itself, a message of only whitespace, a blank peer name, a topic its member
// has not joined, a "slug:" prefix that names no mesh of the session; and once the session's
// SessionEnd hook has taken it off its meshes, the tools say this session left, not that the
// broker closed the connection.
import { expect, test } from "bun:test";
import { cli, cliTeam, ok } from "../helpers/cli.ts";
import { runHook, startMcp, waitConnected } from "../helpers/mcp.ts";

test("mesh_send refuses itself, blank text, an unjoined topic and an unknown mesh prefix with what to do", async () => {
  await using team = await cliTeam(["alice", "bob"]);
  const [alice, bob] = team.dirs;
  ok(await cli(bob, ["topic", "create", "deploys"]));
  await using a = await startMcp(alice, "sess-alice-refusals");
  await waitConnected(a);
  const send = (to: string, message = "x") => a.call("mesh_send", { to, message });

  expect(await send("alice/app")).toEqual({ isError: true, text: 'invalid_argument: That is you: "alice/app" is this session. Give another peer\'s name (mesh_peers lists them).' });
  expect(await send("bob", " \n\t ")).toEqual({ isError: true, text: "invalid_argument: Nothing to send: the message is empty or only whitespace. Give the text to send." });
  expect(await a.call("mesh_ask", { to: "bob", question: "   " })).toMatchObject({ isError: true, text: expect.stringContaining("Nothing to send") });
  // Only characters every reader's display removes would reach bob as an empty quoted line.
  expect(await send("bob", "\u200b\u200b\ufe0f\x1b[2J")).toMatchObject({ isError: true, text: expect.stringContaining("Nothing to send") });
  // A reply_to that is no message id is refused by the tool's schema, saying what an id looks like.
  expect(await a.call("mesh_send", { to: "bob", message: "x", reply_to: "abc" })).toMatchObject({ isError: true, text: expect.stringContaining("a message id as mesh_inbox shows it") });
  expect(await send("#deploys")).toEqual({ isError: true, text: `forbidden: This member has not joined #deploys, and no tool joins topics: ask the user to run \`claudemesh topic join deploys --mesh ${team.mesh.slug}\` in a terminal, then send again.` });
  // An empty name was a prefix of every name; blank, or nothing after the mesh prefix, is refused.
  const empty = (spaces: boolean) => ({ isError: true, text: `invalid_argument: No peer named: the target is empty${spaces ? " (only spaces)" : ""}. Give a peer's name or a public-key prefix (≥ 6 hex), after the "mesh:" prefix if you use one.` });
  expect([await send(" "), await send(`${team.mesh.slug}:`), await a.call("mesh_ask", { to: `${team.mesh.slug}: `, question: "q" })]).toEqual([empty(true), empty(false), empty(true)]);
  expect(await send("other:bob")).toEqual({ isError: true, text: `not_found: No peer matches "other:bob", and "other" is not a mesh this session is in (it is in: ${team.mesh.slug}). The part before ":" names the mesh, as in ${team.mesh.slug}:bob.` });
  // None of them reached bob.
  expect(ok(await cli(bob, ["inbox"])).stdout.trim()).toBe("No new messages.");
}, 60_000);

test("after SessionEnd the tools say this session left the mesh, not that the broker closed it", async () => {
  await using team = await cliTeam(["alice", "bob"]);
  const [alice] = team.dirs;
  await using a = await startMcp(alice, "sess-alice-ended");
  await waitConnected(a);
  const end = await runHook(alice, "session-end", JSON.stringify({ session_id: "sess-alice-ended", cwd: "/work/projects/app", hook_event_name: "SessionEnd", reason: "other" }));
  expect(end.code).toBe(0);
  const r = await a.call("mesh_send", { to: "bob", message: "still there?" });
  expect(r).toEqual({ isError: true, text: `unavailable: This session has left mesh ${team.mesh.slug}: its Claude Code session ended (the SessionEnd hook), so it no longer sends or receives. A new Claude Code session connects again.` });
}, 60_000);
