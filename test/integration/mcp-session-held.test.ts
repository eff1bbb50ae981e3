// Two MCP servers of one Claude Code session across a broker outage (docs/protocol.md §2.7): the
// old one was still reconnecting when Claude Code's new one connected, so no 4004 told it that it
// had been replaced. When it reconnects later it must not take the session back from the newer
// server (which, closed with 4004, would stop for good and leave the session to the old process).
import { expect, test } from "bun:test";
import { statSync } from "node:fs";
import { tempDir } from "../helpers/broker.ts";
import { cli, cliMesh, identities, until } from "../helpers/cli.ts";
import { serveProcess, spawnBroker } from "../helpers/process.ts";
import { hookInput, runHook, startMcp, waitConnected } from "../helpers/mcp.ts";
import { socketPath } from "../../src/mcp/ipc.ts";

/** Whether a server's mesh_inbox says another server of its session took over. */
const tookOver = (text: string) => text.includes("took over");

/** alice and bob on a broker of their own, and an MCP server of bob's session `session`, connected;
 *  then the broker is killed (SIGKILL), and the server has seen it go. */
async function afterBrokerKilled(session: string) {
  const ids = identities(2);
  const [alice, bob] = ids.dirs as [string, string];
  const dataDir = tempDir("cm-mcp-held-");
  const first = await spawnBroker(dataDir);
  await cliMesh(first.url, [[alice, "alice"], [bob, "bob"]]);
  const server = await startMcp(bob, session);
  await waitConnected(server);
  first.proc.kill("SIGKILL");
  await first.proc.exited;
  await until(async () => (await server.call("mesh_peers")).text.includes("reconnecting"), "the server saw the broker go", 30_000);
  return {
    alice,
    bob,
    server,
    /** `serve` again on the same port and data directory, once it listens. */
    async restart() {
      const again = serveProcess(["--port", new URL(first.url).port, "--data-dir", dataDir], { env: { ...process.env, CLAUDEMESH_LOG_LEVEL: "info" } });
      await again.waitFor(/"msg":"broker listening"/);
      return again;
    },
    async [Symbol.asyncDispose]() {
      await server[Symbol.asyncDispose]();
      await first[Symbol.asyncDispose]();
      await ids[Symbol.asyncDispose]();
    },
  };
}

test("an old server of the session reconnecting after the newer one connected leaves the session to the newer one", async () => {
  await using run = await afterBrokerKilled("sess-bob-held");
  const { alice, bob, server: old } = run;
  // Held in its backoff while the new server starts and connects; it reconnects when continued.
  process.kill(old.pid, "SIGSTOP");
  await using fresh = await startMcp(bob, "sess-bob-held");
  await using _again = await run.restart();
  await waitConnected(fresh, 30_000);
  process.kill(old.pid, "SIGCONT");

  // One of the two is told that the other took over; it must be the old one.
  let said = { old: "", fresh: "" };
  await until(
    async () => {
      said = { old: (await old.call("mesh_inbox")).text, fresh: (await fresh.call("mesh_inbox")).text };
      return tookOver(said.old) || tookOver(said.fresh);
    },
    "one server of the session was closed",
    40_000,
  );
  expect({ old: tookOver(said.old), fresh: tookOver(said.fresh) }).toEqual({ old: true, fresh: false });
  // And the newer one keeps receiving the session's messages.
  expect((await cli(alice, ["send", "bob/app", "to the newer server"])).code).toBe(0);
  await fresh.waitNotification((n) => n.content.includes("to the newer server"));
}, 90_000);

// The session's socket names its newest server only while that server lives: one killed before it
// ever connected (here while the broker was down) leaves its socket file behind, and the server
// still in use must not take that file for a newer holder and stop for good at its next reconnect.
test("a newer server of the session that died before connecting does not stop the one still running", async () => {
  await using run = await afterBrokerKilled("sess-bob-stale");
  const { alice, bob, server: running } = run;
  const path = socketPath(bob, "sess-bob-stale");
  const runningSocket = statSync(path).ino;
  // A newer server of the session takes the socket's path, cannot reach the broker, and is killed.
  const died = await startMcp(bob, "sess-bob-stale");
  await until(() => statSync(path).ino !== runningSocket, "the newer server took the session's socket path");
  process.kill(died.pid, "SIGKILL");
  await died.close();
  await using _again = await run.restart();

  let peers = "";
  await until(async () => !(peers = (await running.call("mesh_peers")).text).includes("reconnecting"), "the running server settled", 40_000);
  expect(peers).not.toContain("took over");
  expect((await cli(alice, ["send", "bob/app", "to the running server"])).code).toBe(0);
  await running.waitNotification((n) => n.content.includes("to the running server"));
  // It took the session's socket back from the dead server's file: hooks reach it again.
  const ups = await runHook(bob, "user-prompt-submit", hookInput("sess-bob-stale", "UserPromptSubmit"));
  expect({ code: ups.code, context: ups.out?.hookSpecificOutput?.additionalContext ?? null }).toEqual({ code: 0, context: expect.stringContaining("> to the running server") });
}, 90_000);
