// A Claude Code hook's status that could not reach the broker (it was restarting, or draining)
// is said again once the MCP server is back: a clean restart carries the session's presence over
// with its status (presence-carry.ts), so a Stop lost meanwhile left the session `working`, and
// its peers' `next` messages held, until the user's next prompt.
import { expect, test } from "bun:test";
import { startBroker, type TestBroker } from "../helpers/broker.ts";
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

/** What happens to the broker while bob's turn ends (`endTurn` runs his Stop hook), and the broker
 *  that is running once it is back. */
type Restart = (b: TestBroker, endTurn: () => Promise<void>) => Promise<TestBroker>;
const cases: [string, Restart][] = [
  // The hook reaches bob's MCP server, which has no broker to pass it on to.
  ["stopped", async (b, endTurn) => (await b.stop(), await endTurn(), startBroker({ port: b.port }, { dataDir: b.dataDir }))],
  // The sockets stay open while the drain answers what it committed, and the hook route refuses
  // with 503 unavailable.
  ["draining", async (b, endTurn) => ((b.ctx.draining = true), await endTurn(), restart(b))],
];

test.each(cases)("a Stop hook run while the broker is %s is passed on once bob is back: he is idle, and a next message is pushed to him", async (_, restartWithTurnEnd) => {
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

    b = await restartWithTurnEnd(b, async () => expect((await runHook(bob, "stop", hookInput("sess-bob-hook", "Stop"))).code).toBe(0));
    await Promise.all([waitConnected(a, 30_000), waitConnected(bb, 30_000)]);
    await untilStatus(a, "bob/app", "idle");
    expect((await cli(alice, ["send", "bob/app", "after the restart"])).code).toBe(0);
    await bb.waitNotification((n) => n.content.includes("after the restart"), 10_000);
  } finally {
    await b.stop();
  }
}, 90_000);
