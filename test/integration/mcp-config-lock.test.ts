// The MCP server writes config.json (a removal seen, keys learnt) under the config lock, which
// another process may hold: a command, or one stopped under a debugger for up to LOCK_WAIT_MS.
// The server waits for it on its event loop (src/client/local/config-lock.ts): Claude Code's
// requests keep being answered meanwhile, and the write is made once the lock is free. (It used
// to block its thread for up to 5 s, then give the write up.) A keys message is acked only once
// its keys are saved, and the server's exit waits for the writes still waiting for the lock. Each
// test releases the lock well within the server's LOCK_WAIT_MS, checking the rest after.
import { expect, test } from "bun:test";
import { cli, cliTeam, ok, until } from "../helpers/cli.ts";
import { holdConfigLock, LOCK_WAIT_LOG } from "../helpers/config-lock.ts";
import { startMcp, waitConnected } from "../helpers/mcp.ts";
import { connect } from "../helpers/mesh.ts";
import { loadConfig } from "../../src/client/local/config-file.ts";
import { sessionKey } from "../../src/client/local/session-keys.ts";

test("while another process holds config.lock, a kicked session's server answers, and records the removal once the lock is free", async () => {
  await using t = await cliTeam(["alice", "bob"]);
  const [alice, bob] = t.dirs;
  // Debug logs: the wait is logged at info.
  await using s = await startMcp(bob, "sess-bob-locked", undefined, undefined, { CLAUDEMESH_DEBUG: "1" });
  await waitConnected(s);
  const lock = holdConfigLock(bob);
  let peers = { text: "", isError: false };
  let removedWhileLocked: number | undefined;
  try {
    ok(await cli(alice, ["kick", "bob"]));
    // Answered while the removal waits for the lock.
    await until(async () => (peers = await s.call("mesh_peers")).isError, "the kick in mesh_peers");
    await until(() => s.stderr().includes(LOCK_WAIT_LOG), "the removal waiting for the lock");
    removedWhileLocked = loadConfig(bob).meshes[0]!.removedAt;
  } finally {
    lock.release();
  }
  expect(peers.text).toContain(`You were removed from the mesh "${t.mesh.slug}"`);
  expect(removedWhileLocked).toBeUndefined();
  await until(() => loadConfig(bob).meshes[0]!.removedAt !== undefined, "the removal recorded once the lock is free");
}, 60_000);

test("a keys message stays unacked while its keys wait for the lock, and is acked once they are saved", async () => {
  await using t = await cliTeam(["alice", "bob"]);
  const [alice, bob] = t.dirs;
  await using s = await startMcp(bob, "sess-bob-keys", undefined, undefined, { CLAUDEMESH_DEBUG: "1" });
  await waitConnected(s);
  // What the broker pushed to the session's connection and has had no ack for.
  const session = sessionKey(bob, t.mesh.meshId, "sess-bob-keys").key.publicKey;
  const unacked = () => [...(t.b.ctx.hub.get(t.mesh.meshId, session)?.conns ?? [])].flatMap((c) => [...c.inflight]);
  ok(await cli(alice, ["send", "bob", "read while the keys wait"]));
  await until(() => unacked().length === 1, "alice's message pushed to bob's session");
  const [read] = unacked();
  const lock = holdConfigLock(bob);
  let keys: string | undefined;
  let keysUnacked = false;
  try {
    ok(await cli(alice, ["rekey"])); // sent to bob's member key, so to his live session too
    await until(() => unacked().length === 2 && s.stderr().includes(LOCK_WAIT_LOG), "the keys pushed, their save waiting for the lock");
    keys = unacked().find((id) => id !== read);
    // The session's acks leave in order, so once the message read is acked, an ack of the keys
    // message (made when it arrived, before the read) would have come too.
    expect((await s.call("mesh_inbox")).text).toContain("read while the keys wait");
    await until(() => !unacked().includes(read!), "the message read acked");
    keysUnacked = unacked().includes(keys!);
  } finally {
    lock.release();
  }
  expect(keysUnacked).toBe(true);
  await until(() => loadConfig(bob).meshes[0]!.meshKeys.some((k) => k.epoch === 1), "the keys saved once the lock is free");
  await until(() => !unacked().includes(keys!), "the keys message acked once saved");
}, 60_000);

test("a kick that comes while an unused server's exit ends its session is recorded before the server exits", async () => {
  await using t = await cliTeam(["alice", "bob"]);
  const [alice, bob] = t.dirs;
  const owner = loadConfig(alice).meshes[0]!;
  const a = await connect(t.b.url, { meshId: owner.meshId, memberId: owner.memberId, keys: { publicKey: owner.publicKey, secretKey: owner.secretKey }, displayName: "alice", role: "owner" }, { receive: "pull" });
  // The broker kicks bob while it ends his session: the kick reaches the server while its exit
  // waits for session_end's answer (FORGET_MS), after the exit began.
  const store = t.b.ctx.store;
  const endSession = store.endSession.bind(store);
  store.endSession = async (...args) => {
    await a.client.request("member_revoke", { memberId: t.mesh.members.bob!.memberId, ban: false });
    return endSession(...args);
  };
  // Never used (no tool call, no hook): it connects after its grace, and its exit ends the session.
  await using s = await startMcp(bob, "sess-bob-unused", undefined, undefined, { CLAUDEMESH_DEBUG: "1" });
  await until(() => s.stderr().includes('"state":"open"'), "the unused server connected");
  const lock = holdConfigLock(bob);
  let exited: Promise<void> | undefined;
  try {
    exited = s.close();
    await until(() => s.stderr().includes(LOCK_WAIT_LOG), "the removal waiting for the lock");
  } finally {
    lock.release();
    a.close();
  }
  await exited;
  expect(loadConfig(bob).meshes[0]!.removedAt).toBeNumber();
}, 60_000);
