// The status allowance (protocol §8.1 STATUS_RATE_PER_SEC, STATUS_BURST): status and summary
// changes (set_status, set_summary, POST /hook/set-status) are one token bucket per member, since
// each is a write and a peer_status to every connection of the mesh. A flood is refused
// `rate_limited` (the hook with 429 and Retry-After) and tells peers nothing; Claude Code's hooks
// at a busy member's pace are never refused; and a refused hook does not break its session.
import { describe, expect, test } from "bun:test";
import { STATUS_BURST, STATUS_RATE_PER_SEC } from "../../src/protocol/limits.ts";
import { RateLimiter } from "../../src/broker/rate-limit.ts";
import { hookStatus } from "../../src/client/http.ts";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";
import { startBroker, type TestBroker } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh, type TestMember } from "../helpers/mesh.ts";
import { cli } from "../helpers/cli.ts";
import { runHook, startMcp, waitPeer } from "../helpers/mcp.ts";
import { tempDir } from "../helpers/temp-dir.ts";

/** The broker's status bucket on a clock that moves only when the test moves it (`clock.ms`). */
function testClock(b: TestBroker) {
  const clock = { ms: 0 };
  (b.ctx as { statusLimiter: RateLimiter }).statusLimiter = new RateLimiter(STATUS_RATE_PER_SEC, STATUS_BURST, () => clock.ms);
  return clock;
}

const outcome = (r: PromiseSettledResult<unknown>) => (r.status === "fulfilled" ? "ok" : (r.reason as { code: string }).code);

/** A session connection of member `m` (a Claude Code session's key). */
const sessionOf = (b: TestBroker, m: TestMember) => connect(b.url, m, {}, { credentials: { kind: "session", meshId: m.meshId, memberId: m.memberId, memberKeys: m.keys, sessionKeys: generateSigningKeypair() } } as never);

describe("status allowance", () => {
  test("a flood of summaries and statuses is refused rate_limited past the member's burst, the hook with 429 and Retry-After; peers hear only what was accepted", async () => {
    await using b = await startBroker();
    const clock = testClock(b);
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const watcher = await connect(b.url, owner);
    const a = await connect(b.url, bob);
    const s = await sessionOf(b, bob); // the member's sessions draw on the same bucket
    const flood = await Promise.allSettled(Array.from({ length: STATUS_BURST + 5 }, (_, i) => (i % 2 ? a : s).client.request("set_summary", { summary: `step ${i}` })));
    const counts = (rs: PromiseSettledResult<unknown>[]) => rs.map(outcome).reduce<Record<string, number>>((n, o) => ((n[o] = (n[o] ?? 0) + 1), n), {});
    expect(counts(flood)).toEqual({ ok: STATUS_BURST, rate_limited: 5 });
    await expect(a.client.request("set_status", { status: "dnd" })).rejects.toMatchObject({ code: "rate_limited", retryable: true });
    const hook = await fetch(`${b.url}/hook/set-status`, { method: "POST", headers: { authorization: `Bearer ${s.ack.hookToken}`, "content-type": "application/json" }, body: '{"status":"working"}' });
    expect({ status: hook.status, retryAfter: hook.headers.get("retry-after"), code: (await hook.json()).error.code }).toEqual({ status: 429, retryAfter: "1", code: "rate_limited" });
    // After a second, the rate's worth again; other members were never charged.
    clock.ms += 1000;
    const refill = await Promise.allSettled(Array.from({ length: STATUS_RATE_PER_SEC + 1 }, (_, i) => a.client.request("set_summary", { summary: `later ${i}` })));
    expect(refill.map(outcome)).toEqual([...Array(STATUS_RATE_PER_SEC).fill("ok"), "rate_limited"]);
    // Counted under the status limit, told apart from the send rate's (the review: one series for all).
    expect(await (await fetch(`${b.url}/metrics`)).text()).toContain('broker_messages_rejected_total{reason="rate_limited",limit="status"} 7');
    expect(b.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === "request refused")[0]).toMatchObject({ level: "info", reason: "rate_limited", limit: "status", meshId: bob.meshId, memberId: bob.memberId });
    expect(await watcher.client.request("set_summary", { summary: "the owner's own" })).toEqual({ summary: "the owner's own" });
    // One peer_status per accepted change of bob's, none for a refused one.
    await watcher.client.request("list_peers", {}); // a round trip: every event before it is in
    expect(watcher.events.filter((e) => e.event === "peer_status").length).toBe(STATUS_BURST + STATUS_RATE_PER_SEC);
    for (const p of [watcher, a, s]) p.close();
  });

  test("a busy member's hooks are never refused: 16 sessions, a turn each every 5 s, for 5 minutes", async () => {
    await using b = await startBroker();
    const clock = testClock(b);
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const sessions = await Promise.all(Array.from({ length: 16 }, () => sessionOf(b, bob)));
    // All start at once (each sets a summary with mesh_status: two requests), then every session
    // runs a turn every 5 s, staggered: UserPromptSubmit (working), then Stop (idle) 2 s later.
    const start = await Promise.allSettled(sessions.flatMap((s) => [s.client.request("set_status", { status: "working" }), s.client.request("set_summary", { summary: "starting" })]));
    expect(start.map(outcome).filter((o) => o !== "ok")).toEqual([]);
    const refused: string[] = [];
    for (let t = 0; t < 300; t++) {
      clock.ms = t * 1000;
      const due: { status: "working" | "idle"; s: (typeof sessions)[number] }[] = [];
      sessions.forEach((s, i) => ((t + i) % 5 === 0 ? due.push({ status: "working", s }) : (t + i) % 5 === 2 && due.push({ status: "idle", s })));
      const r = await Promise.allSettled(due.map(({ status, s }) => hookStatus(b.url, s.ack.hookToken, status)));
      refused.push(...r.map(outcome).filter((o) => o !== "ok"));
    }
    expect(refused).toEqual([]);
    for (const s of sessions) s.close();
  }, 60_000);

  test("a hook refused for the allowance does not break the session: it exits 0 with valid output, and the session carries on", async () => {
    await using b = await startBroker();
    const alice = tempDir("cm-status-");
    const bob = tempDir("cm-status-");
    expect((await cli(alice, ["new", "Team", "--broker", b.url, "--display-name", "alice"])).code).toBe(0);
    const link = (await cli(alice, ["invite", "--json"])).json().link;
    expect((await cli(bob, ["join", link, "--name", "bob"])).code).toBe(0);
    await using a = await startMcp(alice, "sa-rate");
    await using bb = await startMcp(bob, "sb-rate");
    await Promise.all([waitPeer(a, "bob/app"), waitPeer(bb, "alice/app")]);
    testClock(b);
    // Spend bob's allowance, as a runaway script of his would.
    const { statusLimiter } = b.ctx;
    for (let i = 0; i < STATUS_BURST; i++) statusLimiter.take([...b.ctx.hub.allConns()].find((c) => c.identity?.displayName.startsWith("bob"))!.identity!.memberId);
    await a.call("mesh_send", { to: "bob", message: "while bob's status is throttled" });
    const ups = await runHook(bob, "user-prompt-submit", JSON.stringify({ session_id: "sb-rate", cwd: "/work/projects/app", hook_event_name: "UserPromptSubmit", prompt: "hi" }));
    expect(ups.code).toBe(0);
    expect(ups.out?.hookSpecificOutput?.additionalContext).toContain("while bob's status is throttled");
    const stop = await runHook(bob, "stop", JSON.stringify({ session_id: "sb-rate", cwd: "/work/projects/app", hook_event_name: "Stop" }));
    expect(stop.code).toBe(0);
    const metrics = await (await fetch(`${b.url}/metrics`)).text();
    expect(metrics).toContain('broker_hook_requests_total{outcome="rate_limited"} 2');
    expect(await bb.call("mesh_send", { to: "alice", message: "still here" })).toMatchObject({ isError: false });
    await a.waitNotification((n) => n.content.includes("still here"));
  }, 60_000);
});
