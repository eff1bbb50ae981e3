// mesh_ask and a reply that is already here: an ask retried with its client_message_id (what the
// tool's own error tells the model to do) finds the reply that came after the first attempt stopped
// waiting, at once, rather than waiting out its timeout while the answer sits unread; and the model
// is shown that reply once, by the ask or by mesh_inbox, even when a reconnect redelivers it while
// the ask waits. Both failed before their fix (src/mcp/mesh-link.ts ask() and onPush).
import { describe, expect, test } from "bun:test";
import { cliTeam, until, useBroker } from "../helpers/cli.ts";
import { startMcp, waitConnected, waitPeer, type McpSession } from "../helpers/mcp.ts";
import { linkProxy } from "../helpers/tcp-proxy.ts";

/** alice (whose server reaches the broker through a proxy that can cut her link) and bob, each in
 *  a Claude Code session. alice asked bob a question with `cmid` and stopped waiting (the user
 *  pressed Esc; for the model, the same as a result lost to a SendError); bob answered, and the
 *  answer is pending, unread, in alice's server. */
async function answeredWhileNotWaiting(tag: string, cmid: string) {
  const team = await cliTeam(["alice", "bob"]);
  const [alice, bob] = team.dirs;
  const proxy = linkProxy(Number(new URL(team.b.url).port));
  useBroker(alice, proxy.url);
  const a = await startMcp(alice, `sess-alice-${tag}`);
  const bb = await startMcp(bob, `sess-bob-${tag}`);
  await bb.call("mesh_peers"); // in use, as a real session is from its SessionStart hook on
  await waitPeer(a, "bob/app");
  const ac = new AbortController();
  const first = a.client.callTool({ name: "mesh_ask", arguments: { to: "bob", question: "What port does the API use?", client_message_id: cmid, timeout_seconds: 60 } }, undefined, { signal: ac.signal }).catch((e: Error) => e);
  const q = await bb.waitNotification((n) => n.content.includes("What port does the API use?"));
  ac.abort();
  expect(await first).toBeInstanceOf(Error);
  await bb.call("mesh_inbox");
  expect((await bb.call("mesh_reply", { message_id: q.meta.message_id, message: "port 8080" })).isError).toBe(false);
  await a.waitNotification((n) => n.content.includes("port 8080")); // pending in alice's server
  return {
    a,
    proxy,
    alicesConnections: () => team.b.logs.filter((l) => l.includes('"msg":"connection accepted"') && l.includes(team.mesh.members.alice!.memberId)).length,
    async [Symbol.asyncDispose]() {
      await a.close();
      await bb.close();
      proxy[Symbol.dispose]();
      await team[Symbol.asyncDispose]();
    },
  };
}

const retry = (a: McpSession, cmid: string) => a.call("mesh_ask", { to: "bob", question: "What port does the API use?", client_message_id: cmid, timeout_seconds: 5 });
const times = (text: string) => text.split("port 8080").length - 1;

describe("mcp: mesh_ask and a reply already pending", () => {
  test("an ask retried with its client_message_id returns the reply that already arrived, and mesh_inbox does not show it again", async () => {
    await using s = await answeredWhileNotWaiting("retry", "retryAsk-pending-0001");
    const started = performance.now();
    const r = await retry(s.a, "retryAsk-pending-0001");
    expect(r.isError).toBe(false);
    expect(r.text).toStartWith('Reply from "bob');
    expect(r.text).toContain("port 8080");
    expect(performance.now() - started).toBeLessThan(4000); // at once, not after its 5 s timeout
    expect((await s.a.call("mesh_inbox")).text).toBe("No new messages.");
  }, 60_000);

  test("a pending reply redelivered after a reconnect while the ask waits is shown once", async () => {
    await using s = await answeredWhileNotWaiting("redeliver", "retryAsk-pending-0002");
    const asking = retry(s.a, "retryAsk-pending-0002");
    // Nothing marks the moment the retry's send is answered and the ask waits; before the fix it
    // then waited out its timeout, and this drop is what made the broker redeliver the reply to it.
    await Bun.sleep(500);
    const before = s.alicesConnections();
    s.proxy.cut();
    const r = await asking;
    await until(() => s.alicesConnections() > before, "alice's server to reconnect");
    await waitConnected(s.a);
    const inbox = await s.a.call("mesh_inbox");
    expect(times(r.text) + times(inbox.text)).toBe(1);
  }, 60_000);
});
