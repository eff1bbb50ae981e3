// A message a hook is printing right now is shown there only: not also given to the wake hook that
// a Stop starts beside the Stop hook (the Stop hook's batch was not held back from it), nor shown
// by a mesh_inbox called meanwhile (it showed whatever was pending). Both failed before their fix
// (src/mcp/server.ts `pending`, src/mcp/tools.ts mesh_inbox waiting for Meshes.handOutsSettled).
import { describe, expect, test } from "bun:test";
import { cliTeam } from "../helpers/cli.ts";
import { startMcp, waitPeer } from "../helpers/mcp.ts";
import { askIpc, socketPath } from "../../src/mcp/ipc.ts";
import type { Pending } from "../../src/mcp/mesh-link.ts";
import { stillWaiting, type HookBatch } from "../helpers/mcp-ask.ts";

/** bob's session with one message from alice pending, and bob's hook socket (the test plays his
 *  hooks over it, request by request, as `claudemesh hook` does). */
async function oneMessagePending(tag: string) {
  const team = await cliTeam(["alice", "bob"]);
  const [alice, bob] = team.dirs;
  const bb = await startMcp(bob, `sess-bob-${tag}`);
  const a = await startMcp(alice, `sess-alice-${tag}`);
  await bb.call("mesh_peers"); // in use, as a real session is from its SessionStart hook on
  await waitPeer(a, "bob/app");
  expect((await a.call("mesh_send", { to: "bob/app", message: "shown in one place" })).isError).toBe(false);
  await bb.waitNotification((n) => n.content.includes("shown in one place"));
  return {
    bb,
    sock: socketPath(bob, `sess-bob-${tag}`),
    async [Symbol.asyncDispose]() {
      await a.close();
      await bb.close();
      await team[Symbol.asyncDispose]();
    },
  };
}

describe("mcp: a message a hook is printing is shown there only", () => {
  test("the Stop hook's batch is not also handed to the wake hook started with it", async () => {
    await using s = await oneMessagePending("stop");
    const stop = await askIpc<{ messages: Pending[] }>(s.sock, { op: "pending", limit: 50, unremindedAsks: true }, 2000);
    expect(stop?.messages.map((m) => m.body)).toEqual(["shown in one place"]); // the Stop hook prints it now
    const wake = await askIpc<HookBatch>(s.sock, { op: "wait", timeoutMs: 1500 }, 5000);
    expect(wake?.text ?? "").not.toContain("shown in one place");
    await askIpc(s.sock, { op: "seen", ids: stop!.messages.map((m) => m.messageId) }, 2000);
    expect((await s.bb.call("mesh_inbox")).text).toBe("No new messages.");
  }, 60_000);

  test("mesh_inbox waits for a wake hook printing a message, and does not show it again", async () => {
    await using s = await oneMessagePending("inbox");
    const wake = await askIpc<HookBatch>(s.sock, { op: "wait", timeoutMs: 5000 }, 8000);
    expect(wake?.text).toContain("shown in one place"); // the wake hook prints it now
    const inbox = s.bb.call("mesh_inbox");
    expect(await stillWaiting(inbox, 1000)).toBe(true); // before the fix it showed it at once
    await askIpc(s.sock, { op: "seen", ids: wake!.ids, previewed: wake!.previewed }, 2000);
    expect((await inbox).text).toBe("No new messages.");
  }, 60_000);
});
