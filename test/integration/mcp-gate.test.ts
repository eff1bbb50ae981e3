// The broker's status gate vs the tools, as Claude Code drives them: UserPromptSubmit sets the
// session `working` before the model runs, so every tool call of a turn happens while `working`,
// and the broker holds `next`/`low` messages back from it (protocol §5.7). An explicit mesh_inbox
// read takes them anyway (src/mcp/mesh-link.ts pull: `fetch` ignores the gate), and a reply to a
// question defaults to `now` (src/mcp/tools.ts), so a mesh_ask during a turn gets its answer.
import { describe, expect, test } from "bun:test";
import { cliTeam, until } from "../helpers/cli.ts";
import { runHook, startMcp, waitPeer } from "../helpers/mcp.ts";

async function twoSessions(tag: string) {
  const team = await cliTeam(["alice", "bob"]);
  const [alice, bob] = team.dirs;
  const a = await startMcp(alice, `sess-alice-${tag}`);
  const bb = await startMcp(bob, `sess-bob-${tag}`);
  await Promise.all([waitPeer(a, "bob/app"), waitPeer(bb, "alice/app")]);
  const hook = (event: string, input: Record<string, unknown>) => runHook(bob, event, JSON.stringify({ session_id: `sess-bob-${tag}`, cwd: "/work/projects/app", ...input }));
  return {
    a,
    bb,
    /** Bob's user submits a prompt: the hook sets his session `working`, as Claude Code runs it. */
    async turnStarts() {
      expect((await hook("user-prompt-submit", { hook_event_name: "UserPromptSubmit", prompt: "go" })).code).toBe(0);
      await until(async () => /bob\/app"?: working/.test((await a.call("mesh_peers")).text), "bob working");
    },
    turnEnds: () => hook("stop", { hook_event_name: "Stop", stop_hook_active: false }),
    async [Symbol.asyncDispose]() {
      await a.close();
      await bb.close();
      await team[Symbol.asyncDispose]();
    },
  };
}

describe("during a turn (session working)", () => {
  test("mesh_inbox returns a message the gate holds, exactly once", async () => {
    await using s = await twoSessions("inbox");
    await s.turnStarts();
    expect((await s.a.call("mesh_send", { to: "bob/app", message: "held-1: api v2 is deployed" })).isError).toBe(false);
    const first = (await s.bb.call("mesh_inbox")).text;
    expect(first).toContain("held-1: api v2 is deployed");
    expect(first).toContain("priority next");
    // Fetched, not pushed: the gate did hold it, and the read rang no doorbell.
    expect(s.bb.notifications.some((n) => n.content.includes("held-1"))).toBe(false);
    expect((await s.bb.call("mesh_inbox")).text).toBe("No new messages.");
    // The turn ends (idle): the broker releases what it still holds; held-1 was acked, so it is
    // not among them — a later message comes alone.
    expect(JSON.stringify((await s.turnEnds()).out)).not.toContain("held-1");
    expect((await s.a.call("mesh_send", { to: "bob/app", message: "after-1" })).isError).toBe(false);
    await s.bb.waitNotification((n) => n.content.includes("after-1"));
    const later = (await s.bb.call("mesh_inbox")).text;
    expect(later).toContain("after-1");
    expect(later).not.toContain("held-1");
  }, 60_000);

  test("mesh_ask gets the answer of a mesh_reply (and of mesh_send reply_to) with the default priority", async () => {
    await using s = await twoSessions("ask");
    await s.turnStarts();
    for (const [i, answer] of [
      [1, (id: string) => s.a.call("mesh_reply", { message_id: id, message: "yes-1, shipped" })],
      [2, (id: string) => s.a.call("mesh_send", { to: "bob/app", reply_to: id, message: "yes-2, shipped" })],
    ] as const) {
      const asking = s.bb.call("mesh_ask", { to: "alice/app", question: `migration ${i} done?`, timeout_seconds: 8 });
      const q = await s.a.waitNotification((n) => n.content.includes(`migration ${i} done?`));
      expect((await s.a.call("mesh_inbox")).text).toContain(`migration ${i} done?`);
      const t0 = Date.now();
      expect((await answer(String(q.meta.message_id))).isError).toBe(false);
      const r = await asking;
      expect(r.text).toContain(`yes-${i}, shipped`);
      expect(r.text).toContain("priority now");
      expect(Date.now() - t0).toBeLessThan(3000);
    }
  }, 60_000);
});
