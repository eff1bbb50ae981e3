// A Claude Code session started after a key rotation: the owner's `keys` message went to the member
// key, queued in the member's own mailbox, never in this new session's. The MCP server reads it
// from the member mailbox when it connects (src/mcp/key-catchup.ts), without taking it or anything
// else from the member's `claudemesh inbox`. The keys found are used at once, even when the
// config lock keeps them from being saved.
import { expect, test } from "bun:test";
import { cli, cliTeam, ok, until } from "../helpers/cli.ts";
import { holdConfigLock } from "../helpers/config-lock.ts";
import { startMcp, waitConnected } from "../helpers/mcp.ts";
import { loadConfig } from "../../src/client/local/config-file.ts";

test("a session started after a rekey gets the new key from the member mailbox, and can post under it at once", async () => {
  await using team = await cliTeam(["alice", "bob"]);
  const { dirs: [alice, bob], mesh } = team;
  ok(await cli(alice, ["send", "bob", "queued for the terminal"]));
  ok(await cli(alice, ["rekey"])); // bob runs no session: the keys wait in bob's member mailbox
  const depth = () => team.b.ctx.store.queueDepth({ meshId: mesh.meshId, pubkey: mesh.members.bob!.pubkey });
  const queued = await depth();
  expect(queued).toBeGreaterThanOrEqual(2);
  await using bb = await startMcp(bob, "catchup-bob");
  await bb.call("mesh_peers");
  await until(() => loadConfig(bob).meshes[0]!.meshKeys.some((k) => k.epoch === 1), "the epoch 1 key in bob's config");
  expect(loadConfig(bob).meshes[0]!.meshKeys.map((k) => k.epoch)).toEqual([0, 1]);
  expect(await bb.call("mesh_send", { to: "#general", message: "posted by a session born after the rekey" })).toMatchObject({ isError: false });
  // alice reads it under epoch 1; bob's terminal still has everything that was queued for it.
  const read = ok(await cli(alice, ["inbox", "--json"])).json().messages.map((m: { body: string }) => m.body);
  expect(read).toEqual(["posted by a session born after the rekey"]);
  await bb.close();
  expect(await depth()).toBe(queued + 1); // the session's own post, for bob's other clients
  const terminal = ok(await cli(bob, ["inbox", "--json"])).json().messages.map((m: { body: string }) => m.body);
  expect(terminal).toEqual(["queued for the terminal", "posted by a session born after the rekey"]);
}, 60_000);

test("keys found in the member mailbox are used while config.lock keeps them from being saved", async () => {
  await using team = await cliTeam(["alice", "bob"]);
  const [alice, bob] = team.dirs;
  ok(await cli(alice, ["rekey"]));
  // Held past the server's LOCK_WAIT_MS if need be: the keys used to be taken in only from the
  // file, so a save that gave up left the session without them until the next rotation.
  const lock = holdConfigLock(bob);
  await using bb = await startMcp(bob, "catchup-locked");
  try {
    await waitConnected(bb);
    ok(await cli(alice, ["send", "#general", "sealed under epoch 1"]));
    await until(async () => (await bb.call("mesh_inbox")).text.includes("sealed under epoch 1"), "alice's post read under the key from the mailbox");
  } finally {
    lock.release(); // before the server's exit, which waits for the save
  }
}, 60_000);
