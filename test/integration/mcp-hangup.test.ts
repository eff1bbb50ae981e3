// A terminal that closes (a tab shut, an ssh session dropped) sends SIGHUP to the foreground
// process group, which holds Claude Code and the MCP servers it started (they are not detached).
// The MCP server stops then as it does when Claude Code closes its stdin or sends SIGTERM: what it
// has shown the model is saved and acknowledged (else the next session of it is shown it again)
// and its hook sockets are removed. Session 36, "review of the event subscription and SIGHUP
// merges" (docs/decisions.md).
import { expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { cli, cliTeam, ok } from "../helpers/cli.ts";
import { startMcp, waitConnected } from "../helpers/mcp.ts";
import { until } from "../helpers/until.ts";
import { alive } from "../helpers/process.ts";

const sockets = (dir: string) => readdirSync(join(dir, "run")).filter((f) => f.endsWith(".sock"));

test("SIGHUP stops the MCP server cleanly: what it showed is not shown again by its next run, and its sockets are gone", async () => {
  await using team = await cliTeam(["alice", "bob"]);
  const [alice, bob] = team.dirs;
  const a = await startMcp(alice, "sess-hangup");
  await waitConnected(a);
  expect(sockets(alice).length).toBe(2);
  ok(await cli(bob, ["send", "alice", "read before the hangup"]));
  let read = "";
  await until(async () => (read += (await a.call("mesh_inbox")).text).includes("read before the hangup"), "the server to show the message");
  process.kill(a.pid, "SIGHUP"); // within the replay file's write delay (REPLAY_FLUSH_MS) of the read
  await until(() => !alive(a.pid), "the server to exit");
  await a.close();
  expect(sockets(alice)).toEqual([]);
  // The same session again (claude --resume): the message was seen, so it is not shown again.
  await using again = await startMcp(alice, "sess-hangup");
  await waitConnected(again);
  ok(await cli(bob, ["send", "alice", "after the hangup"]));
  let later = "";
  await until(async () => (later += (await again.call("mesh_inbox")).text).includes("after the hangup"), "the next run to show the new message");
  expect(later).not.toContain("read before the hangup");
}, 60_000);
