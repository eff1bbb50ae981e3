// A Claude Code hook's status that could not reach the broker (it was restarting, or draining)
// is said again once the MCP server is back: a clean restart carries the session's presence over
// with its status (presence-carry.ts), so a Stop lost meanwhile left the session `working`, and
// its peers' `next` messages held, until the user's next prompt.
import { expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { cli, cliMesh, identities, until } from "../helpers/cli.ts";
import { hookInput, runHook, startMcp, waitConnected, waitPeer, type McpSession } from "../helpers/mcp.ts";
import { restart } from "../helpers/storm.ts";

/** Waits until `s`'s mesh_peers shows `peer` with `status`; the error names the last one seen. */
async function untilStatus(s: McpSession, peer: string, status: string, timeoutMs = 10_000): Promise<void> {
  let seen: string | undefined;
  const shown = async () => (seen = new RegExp(`${peer.replace("/", "\\/")}"?: (\\w+)`).exec((await s.call("mesh_peers")).text)?.[1]);
  await until(async () => (await shown()) === status, `${peer} ${status}`, timeoutMs).catch((err: Error) => {
    throw new Error(`${err.message} (last shown: ${seen})`);
  });
}

test("a Stop hook run while the broker restarts is not lost: the session is idle once back, and a next message is pushed to it", async () => {
  await using ids = identities(2);
  const [alice, bob] = ids.dirs as [string, string];
  let b = await startBroker();
  try {
    await cliMesh(b.url, [[alice, "alice"], [bob, "bob"]]);
    await using a = await startMcp(alice, "sess-alice-hook");
    await using bb = await startMcp(bob, "sess-bob-hook");
    await Promise.all([waitPeer(a, "bob/app"), waitPeer(bb, "alice/app")]);
    expect((await runHook(bob, "user-prompt-submit", hookInput("sess-bob-hook", "UserPromptSubmit"))).code).toBe(0);
    await untilStatus(a, "bob/app", "working");

    await b.stop();
    // The turn ends while no broker runs: the hook reaches bob's MCP server, which cannot pass it on.
    expect((await runHook(bob, "stop", hookInput("sess-bob-hook", "Stop"))).code).toBe(0);
    b = await startBroker({ port: b.port }, { dataDir: b.dataDir });
    await Promise.all([waitConnected(a, 30_000), waitConnected(bb, 30_000)]);
    await untilStatus(a, "bob/app", "idle");
    expect((await cli(alice, ["send", "bob/app", "after the restart"])).code).toBe(0);
    await bb.waitNotification((n) => n.content.includes("after the restart"), 10_000);
  } finally {
    await b.stop();
  }
}, 90_000);

test("a Stop hook whose post the draining broker refused is said again after the restart", async () => {
  await using ids = identities(2);
  const [alice, bob] = ids.dirs as [string, string];
  let b = await startBroker();
  try {
    await cliMesh(b.url, [[alice, "alice"], [bob, "bob"]]);
    await using a = await startMcp(alice, "sess-alice-drain");
    await using bb = await startMcp(bob, "sess-bob-drain");
    await Promise.all([waitPeer(a, "bob/app"), waitPeer(bb, "alice/app")]);
    expect((await runHook(bob, "user-prompt-submit", hookInput("sess-bob-drain", "UserPromptSubmit"))).code).toBe(0);
    await untilStatus(a, "bob/app", "working");
    // Draining: the sockets stay open (the drain answers what it committed first), and the hook
    // route refuses with 503 unavailable.
    b.ctx.draining = true;
    expect((await runHook(bob, "stop", hookInput("sess-bob-drain", "Stop"))).code).toBe(0);
    b = await restart(b);
    await Promise.all([waitConnected(a, 30_000), waitConnected(bb, 30_000)]);
    await untilStatus(a, "bob/app", "idle");
  } finally {
    await b.stop();
  }
}, 90_000);
