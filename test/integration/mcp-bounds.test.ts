// Bounds on what one peer can make a Claude Code session show, against a real broker, the real
// `claudemesh mcp` over stdio and the real hooks: the Stop hook's reminder of open questions stays
// within the injection budget (it had no bound: 150 asks made 38,757 characters, all marked
// reminded), the open-question store is bounded (src/cli/commands/hook.ts, src/mcp/meshes.ts), and
// channel notifications are rate-limited per session with nothing lost (src/mcp/doorbell.ts; a
// flood of priority-now messages made 299 notifications, 1.34 M characters, in 10 s), and a
// mesh_inbox answer fills MAX_TOOL_TEXT_CHARS exactly, its line counting the rest included.
import { describe, expect, test } from "bun:test";
import { loadConfig } from "../../src/client/local/config-file.ts";
import { MeshLink } from "../../src/mcp/mesh-link.ts";
import { MAX_INJECTION_CHARS, MAX_TOOL_TEXT_CHARS } from "../../src/mcp/framing.ts";
import { MAX_OPEN_ASKS } from "../../src/mcp/open-asks.ts";
import { DOORBELL_CHARS_PER_MINUTE, DOORBELL_NOTICE, DOORBELL_NOTIFICATIONS_PER_MINUTE } from "../../src/mcp/doorbell.ts";
import { silentLog } from "../../src/log/log.ts";
import { cliTeam, until } from "../helpers/cli.ts";
import { runHook, startMcp } from "../helpers/mcp.ts";

/** bob in a Claude Code session; alice as a second session of her own (the MCP server's MeshLink,
 *  driven directly so a test can send asks and floods without a model). */
async function bobAndAlice(tag: string) {
  const team = await cliTeam(["alice", "bob"]);
  const [alice, bob] = team.dirs;
  const bb = await startMcp(bob, `sess-bob-${tag}`);
  await bb.call("mesh_peers"); // in use, as a real session is from its SessionStart hook on
  const a = new MeshLink(loadConfig(alice).meshes[0]!, { configDir: alice, claudeSessionId: `sess-alice-${tag}`, label: "app", cwd: "/w", hostname: "h", log: silentLog, onMessage: () => {} });
  await a.start();
  let target = "";
  await until(async () => Boolean((target = (await a.resolve("bob/app").catch(() => ({ target: "" }))).target)), "bob's session on the roster");
  return {
    bob,
    bb,
    send: (body: string, opts: { kind?: "ask"; priority?: "now" | "next" | "low" } = {}) => a.send(target, body, opts),
    async [Symbol.asyncDispose]() {
      a.close();
      await bb.close();
      await team[Symbol.asyncDispose]();
    },
  };
}

/** Reads bob's inbox until empty; returns the numbers of the "q<n>:" messages it showed. */
async function readAll(bb: Awaited<ReturnType<typeof startMcp>>): Promise<number[]> {
  const seen: number[] = [];
  for (let k = 0; k < 40; k++) {
    const t = (await bb.call("mesh_inbox", { limit: 50 })).text;
    if (t === "No new messages.") break;
    for (const m of t.matchAll(/^(?:> )?q(\d+):/gm)) seen.push(Number(m[1]));
  }
  return seen;
}

describe("Stop hook reminder of open questions", () => {
  test("stays within the injection budget, marks only what it listed, lists the rest later; the store keeps the newest", async () => {
    await using s = await bobAndAlice("asks");
    const N = MAX_OPEN_ASKS + 10;
    for (let i = 0; i < N; i++) await s.send(`q${i}: ${"please confirm the deploy window ".repeat(6)}`, { kind: "ask" });
    const read = new Set<number>();
    await until(async () => ((await readAll(s.bb)).forEach((n) => read.add(n)), read.size === N), "every ask read", 20_000);
    const listed: number[] = [];
    for (let stops = 0; stops < 30; stops++) {
      const h = await runHook(s.bob, "stop", JSON.stringify({ session_id: "sess-bob-asks", hook_event_name: "Stop", stop_hook_active: false }));
      expect(h.code).toBe(0);
      const ctx: string = h.out?.hookSpecificOutput?.additionalContext ?? "";
      if (!ctx) break;
      expect(ctx.length).toBeLessThanOrEqual(MAX_INJECTION_CHARS);
      const here = [...ctx.matchAll(/\): q(\d+):/g)].map((m) => Number(m[1]));
      expect(here.length).toBeGreaterThan(0);
      // Those not listed this time are counted, and only while there are some.
      const rest = N - 10 - listed.length - here.length;
      const more = /\((\d+) more unanswered question(s?) from peers/.exec(ctx);
      expect(more && [Number(more[1]), more[2]]).toEqual(rest ? [rest, rest === 1 ? "" : "s"] : null);
      listed.push(...here);
    }
    // Each question listed exactly once over the Stops; only the newest MAX_OPEN_ASKS were kept.
    expect(listed).toEqual(Array.from({ length: MAX_OPEN_ASKS }, (_, i) => i + 10));
  }, 120_000);
});

describe("channel notifications", () => {
  test("a flood of priority-now messages to a working session rings a bounded number, tells once that more wait, and loses none", async () => {
    await using s = await bobAndAlice("flood");
    const hook = (event: string, name: string) => runHook(s.bob, event, JSON.stringify({ session_id: "sess-bob-flood", hook_event_name: name }));
    expect((await hook("user-prompt-submit", "UserPromptSubmit")).code).toBe(0); // a turn: working
    const N = 30;
    const floodAt = performance.now();
    await Promise.all(Array.from({ length: N }, (_, i) => s.send(`q${i}: ${"A".repeat(3000)}`, { priority: "now" })));
    // All of them reached bob's server (SessionStart counts what is pending, marking nothing read).
    await until(async () => ((await hook("session-start", "SessionStart")).out?.hookSpecificOutput?.additionalContext ?? "").includes(`${N} unread message(s)`), "the flood at bob's server", 20_000);
    await until(() => s.bb.notifications.some((n) => n.content === DOORBELL_NOTICE), "the notice that more wait");
    const rung = s.bb.notifications.filter((n) => n.meta.message_id);
    const notices = s.bb.notifications.filter((n) => n.content === DOORBELL_NOTICE);
    expect({ notices: notices.length, others: s.bb.notifications.length - rung.length - notices.length }).toEqual({ notices: 1, others: 0 });
    // Within the budget: a burst, plus what refilled while the test ran (measured, so a slow host
    // cannot fail it). The exact counts are pinned on a clock the test moves: unit/doorbell.test.ts.
    const minutes = (performance.now() - floodAt) / 60_000;
    expect(rung.length).toBeGreaterThan(0);
    expect(rung.length).toBeLessThanOrEqual(Math.floor(DOORBELL_NOTIFICATIONS_PER_MINUTE * (1 + minutes)));
    expect(rung.reduce((n, x) => n + x.content.length, 0)).toBeLessThanOrEqual(DOORBELL_CHARS_PER_MINUTE * (1 + minutes));
    // Not rung is not lost: mesh_inbox returns every one, once.
    expect((await readAll(s.bb)).sort((x, y) => x - y)).toEqual(Array.from({ length: N }, (_, i) => i));
  }, 60_000);
});

describe("mesh_inbox", () => {
  test("fills one answer up to MAX_TOOL_TEXT_CHARS with the line counting the rest, and keeps no room for that line when nothing is left", async () => {
    await using s = await bobAndAlice("inbox");
    const read = async () => (await s.bb.call("mesh_inbox", { limit: 50 })).text;
    const body = (n: number) => "x".repeat(n);
    // Every message from alice is framed with the same words around its body (ids have one length).
    await s.send("c");
    const framing = (await read()).length - 1;
    // Two messages, joined by a blank line, that fill the answer exactly: both shown, nothing said.
    const two = MAX_TOOL_TEXT_CHARS - 2 - 2 * framing;
    await s.send(body(two >> 1));
    await s.send(body(two - (two >> 1)));
    const full = await read();
    expect({ length: full.length, more: full.includes("more: call mesh_inbox") }).toEqual({ length: MAX_TOOL_TEXT_CHARS, more: false });
    // Two that fill it with the line counting a third, which comes with the next call.
    const more = "\n\n(1 more: call mesh_inbox again)";
    await s.send(body((two - more.length) >> 1));
    await s.send(body(two - more.length - ((two - more.length) >> 1)));
    await s.send("third");
    const withMore = await read();
    expect({ length: withMore.length, end: withMore.endsWith(`if useful.${more}`) }).toEqual({ length: MAX_TOOL_TEXT_CHARS, end: true });
    const last = await read();
    expect({ length: last.length, third: last.includes("\n> third\n") }).toEqual({ length: framing + "third".length, third: true });
  }, 60_000);
});
