// Two joined meshes may share a slug (two meshes named "Team", on two brokers). The MCP server told
// them apart by slug when it marked a message read and remembered its sender, so a message of the
// second mesh was marked on the first: never acked, shown again by every mesh_inbox and handed to
// every wake hook, and mesh_reply to it went to the wrong mesh (session 31's MCP review).
import { expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { cli, identities, ok } from "../helpers/cli.ts";
import { runHook, startMcp, waitConnected } from "../helpers/mcp.ts";

test("a message on the second of two meshes with one slug is shown once, acked, and answerable on its own mesh", async () => {
  await using b1 = await startBroker();
  await using b2 = await startBroker();
  await using ids = identities(3);
  const [alice, carol, bob] = ids.dirs as [string, string, string];
  ok(await cli(alice, ["new", "Team", "--broker", b1.url, "--display-name", "alice"]));
  ok(await cli(carol, ["new", "Team", "--broker", b2.url, "--display-name", "carol"]));
  ok(await cli(bob, ["join", ok(await cli(alice, ["invite", "--json"])).json().link, "--name", "bob"]));
  ok(await cli(bob, ["join", ok(await cli(carol, ["invite", "--json"])).json().link, "--name", "bob"]));
  await using bb = await startMcp(bob, "sess-bob-slug");
  await waitConnected(bb);
  ok(await cli(carol, ["send", "bob", "hello from carol on the second team"]));
  await bb.waitNotification((n) => n.content.includes("hello from carol"));
  const first = await bb.call("mesh_inbox");
  expect(first.text).toContain("hello from carol");
  await Bun.sleep(300); // past the replay file's write and the ack: a message still unread would show again
  expect((await bb.call("mesh_inbox")).text).not.toContain("hello from carol");
  // Not handed to a hook again (user-prompt-submit injects what is unread).
  const hook = await runHook(bob, "user-prompt-submit", JSON.stringify({ session_id: "sess-bob-slug", cwd: "/work/projects/app", hook_event_name: "UserPromptSubmit", prompt: "go" }));
  expect({ code: hook.code, shown: JSON.stringify(hook.out ?? "").includes("hello from carol") }).toEqual({ code: 0, shown: false });
  const id = /id ([A-Za-z0-9_-]+)\./.exec(first.text)![1]!;
  expect(await bb.call("mesh_reply", { message_id: id, message: "hi carol" })).toMatchObject({ isError: false });
  expect(ok(await cli(carol, ["inbox", "--json"])).json().messages.map((m: { body: string }) => m.body)).toEqual(["hi carol"]);
}, 60_000);
