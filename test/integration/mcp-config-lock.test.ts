// The MCP server writes config.json (a removal seen, keys learnt) under the config lock, which
// another process may hold: a command, or one stopped under a debugger for up to LOCK_WAIT_MS.
// The server waits for it on its event loop (src/client/local/config-lock.ts): Claude Code's
// requests keep being answered meanwhile, and the write is made once the lock is free. (It used
// to block its thread for up to 5 s, then give the write up.)
import { expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, cliTeam, ok, until } from "../helpers/cli.ts";
import { startMcp, waitConnected } from "../helpers/mcp.ts";
import { CONFIG_LOCK } from "../../src/client/local/config-lock.ts";
import { loadConfig } from "../../src/client/local/config-file.ts";

test("while another process holds config.lock, a kicked session's server answers, and records the removal once the lock is free", async () => {
  await using t = await cliTeam(["alice", "bob"]);
  const [alice, bob] = t.dirs;
  // Debug logs: the wait is logged at info.
  await using s = await startMcp(bob, "sess-bob-locked", undefined, undefined, { CLAUDEMESH_DEBUG: "1" });
  await waitConnected(s);
  // This test process holds bob's config lock, as a command of his would (its PID is running).
  const lock = join(bob, CONFIG_LOCK);
  writeFileSync(lock, String(process.pid), { mode: 0o600 });
  try {
    ok(await cli(alice, ["kick", "bob"]));
    let peers = await s.call("mesh_peers");
    await until(async () => (peers = await s.call("mesh_peers")).isError, "the kick in mesh_peers");
    expect(peers.text).toContain(`You were removed from the mesh "${t.mesh.slug}"`);
    expect((await s.client.listTools()).tools.map((tool) => tool.name)).toContain("mesh_peers");
    expect(s.stderr()).toContain("config.json is locked by another process; waiting");
    expect(loadConfig(bob).meshes[0]!.removedAt).toBeUndefined();
  } finally {
    rmSync(lock, { force: true });
  }
  await until(() => loadConfig(bob).meshes[0]!.removedAt !== undefined, "the removal recorded once the lock is free");
}, 60_000);
