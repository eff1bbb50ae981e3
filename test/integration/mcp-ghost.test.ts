// `claude mcp list` starts `claudemesh mcp` without CLAUDE_CODE_SESSION_ID, initializes, perhaps
// lists the tools, and closes stdin. Such a server (the per-parent-pid fallback identity) connects
// to its brokers only once it is used — a tool call, a hook — or CONNECT_GRACE_MS after
// `initialize`, so a health check never creates a peer and exits at once (docs/claude-code.md).
// Its key is kept like a Claude Code session's: a restart under the same parent (here the test
// process) resumes it, mailbox included. A server with a Claude session id (which Claude Code also
// gives its health checks) waits SESSION_CONNECT_GRACE_MS, and one never used ends the session it
// began when it exits.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { cli, cliTeam, ok, until } from "../helpers/cli.ts";
import { hookInput, runHook, startMcp, type McpSession } from "../helpers/mcp.ts";
import type { TestBroker } from "../helpers/broker.ts";
import type { PeerInfo } from "../../src/protocol/results.ts";
import { CONNECT_GRACE_MS, SESSION_CONNECT_GRACE_MS } from "../../src/mcp/server.ts";

/** alice's sessions as bob's CLI sees them, offline ones included. */
async function aliceSessions(bob: string): Promise<PeerInfo[]> {
  const { peers } = ok(await cli(bob, ["peers", "--all", "--json"])).json() as { peers: PeerInfo[] };
  return peers.filter((p) => p.kind === "session" && p.displayName === "alice/app");
}

async function waitOnline(bob: string): Promise<PeerInfo> {
  let live: PeerInfo | undefined;
  await until(async () => Boolean((live = (await aliceSessions(bob)).find((p) => p.online))), "alice/app online", 30_000);
  return live!;
}

/** alice's sessions once none is online. */
async function waitOffline(bob: string): Promise<PeerInfo[]> {
  let all: PeerInfo[] = [];
  await until(async () => !(all = await aliceSessions(bob)).some((p) => p.online), "alice/app offline", 20_000);
  return all;
}

/** Authenticated connections the broker has accepted so far (its /metrics): a server that never
 *  connected leaves it unchanged. */
async function connections(b: TestBroker): Promise<number> {
  const text = await (await fetch(`${b.url}/metrics`)).text();
  return Number(/^broker_connections_total (\d+)/m.exec(text)?.[1] ?? 0);
}

/** Whether the broker accepts a connection beyond `before` within 3 s: well before a server that
 *  defers its connect would connect by itself (CONNECT_GRACE_MS after initialize). */
async function connectsSoon(b: TestBroker, before: number): Promise<boolean> {
  for (let i = 0; i < 30 && (await connections(b)) === before; i++) await Bun.sleep(100);
  return (await connections(b)) > before;
}

/** Closes stdin as a client does; returns how long the server took to exit. The SDK's client sends
 *  SIGTERM only after 2 s, so an exit within that was the server's own. */
async function closeTimed(s: McpSession): Promise<number> {
  const started = performance.now();
  await s.close();
  return performance.now() - started;
}

/** Session key files under a config dir's sessions/. */
const sessionKeyFiles = (cfg: string) => (existsSync(join(cfg, "sessions")) ? readdirSync(join(cfg, "sessions"), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length : 0);

/** Starts a server without CLAUDE_CODE_SESSION_ID (the helper's empty id counts as unset). */
const noSessionId = (cfg: string) => startMcp(cfg, "");

describe("an MCP server without a Claude session id", () => {
  test("a health check (initialize, list tools, close) never connects: no peer, and it exits at once", async () => {
    await using t = await cliTeam(["alice", "bob"]);
    const [alice, bob] = t.dirs;
    const before = await connections(t.b);
    for (let i = 0; i < 2; i++) {
      const s = await noSessionId(alice);
      expect((await s.client.listTools()).tools.length).toBeGreaterThan(0);
      expect(await closeTimed(s)).toBeLessThan(1500);
    }
    expect(await connections(t.b)).toBe(before);
    expect(await aliceSessions(bob)).toEqual([]);
    // Nor a key file: the key is saved only before a first connect.
    expect(sessionKeyFiles(alice)).toBe(0);
  }, 60_000);

  test("with its broker down, a health check still exits at once", async () => {
    await using t = await cliTeam(["alice", "bob"]);
    const [alice] = t.dirs;
    await t.b.stop();
    const s = await noSessionId(alice);
    expect(await closeTimed(s)).toBeLessThan(1500);
  }, 60_000);

  test("a tool call right after initialize connects and works; the session then exists", async () => {
    await using t = await cliTeam(["alice", "bob"]);
    const [alice, bob] = t.dirs;
    const s = await noSessionId(alice);
    const peers = await s.call("mesh_peers");
    expect({ isError: peers.isError, text: peers.text }).toEqual({ isError: false, text: expect.stringContaining('"alice/app" (you)') });
    expect(await s.call("mesh_send", { to: "bob", message: "hello from a manual run" })).toMatchObject({ isError: false });
    expect((await waitOnline(bob)).online).toBe(true);
    expect(sessionKeyFiles(alice)).toBe(1);
    await s.close();
  }, 60_000);

  test("a hook connects it (an older Claude Code without the session id still runs hooks)", async () => {
    await using t = await cliTeam(["alice", "bob"]);
    const [alice, bob] = t.dirs;
    const before = await connections(t.b);
    const s = await noSessionId(alice);
    // Not this server's id: the hook finds it through its parent's pid (this test process).
    const r = await runHook(alice, "session-start", hookInput("sess-unknown", "SessionStart"));
    expect(r.code).toBe(0);
    expect(r.out?.hookSpecificOutput?.additionalContext).toContain("this session is a peer on mesh");
    expect(await connectsSoon(t.b, before)).toBe(true);
    await waitOnline(bob);
    await s.close();
  }, 60_000);

  test(`left unused, it connects once the grace period (${CONNECT_GRACE_MS} ms) has passed`, async () => {
    await using t = await cliTeam(["alice", "bob"]);
    const [alice, bob] = t.dirs;
    const before = await connections(t.b);
    const s = await noSessionId(alice);
    expect(await connections(t.b)).toBe(before);
    expect((await waitOnline(bob)).online).toBe(true);
    await s.close();
  }, 60_000);

  test("restarted under the same parent, it resumes the same session and gets what was queued for it", async () => {
    await using t = await cliTeam(["alice", "bob"]);
    const [alice, bob] = t.dirs;
    const first = await noSessionId(alice);
    expect((await first.call("mesh_peers")).isError).toBe(false);
    const key = (await waitOnline(bob)).pubkey;
    await first.close();
    const after = await waitOffline(bob);
    expect(after.map((p) => ({ pubkey: p.pubkey, online: p.online }))).toEqual([{ pubkey: key, online: false }]);
    ok(await cli(bob, ["send", key.slice(0, 16), "while you were away"]));

    // The same parent (this test process): the same `ppid-<pid>-<start>` identity.
    // Its first call connects it and waits for the backlog the broker announces: one call suffices.
    const again = await noSessionId(alice);
    expect((await again.call("mesh_inbox")).text).toContain("while you were away");
    expect((await waitOnline(bob)).pubkey).toBe(key);
    await again.close();
  }, 60_000);
});

describe("a Claude Code session (CLAUDE_CODE_SESSION_ID)", () => {
  test(`connects within ${SESSION_CONNECT_GRACE_MS} ms without being used`, async () => {
    await using t = await cliTeam(["alice", "bob"]);
    const [alice] = t.dirs;
    const before = await connections(t.b);
    await using s = await startMcp(alice, "sess-alice-now");
    expect(await connectsSoon(t.b, before)).toBe(true);
    await s.close();
  }, 60_000);

  test("a health check given a session id of its own (Claude Code's `claude mcp list` does) leaves no peer and no key", async () => {
    // Each `claude mcp list` used to add a peer named like the member's real sessions.
    await using t = await cliTeam(["alice", "bob"]);
    const [alice, bob] = t.dirs;
    const before = await connections(t.b);
    await using quick = await startMcp(alice, crypto.randomUUID());
    expect((await quick.client.listTools()).tools.length).toBeGreaterThan(0);
    expect(await closeTimed(quick)).toBeLessThan(1500);
    expect(await connections(t.b)).toBe(before);
    // One that outlives the grace connects; unused, its exit ends that session and deletes the key.
    await using slow = await startMcp(alice, crypto.randomUUID());
    expect((await waitOnline(bob)).online).toBe(true);
    expect(await closeTimed(slow)).toBeLessThan(1500);
    expect(await aliceSessions(bob)).toEqual([]);
    expect(sessionKeyFiles(alice)).toBe(0);
  }, 60_000);

  test("once used, it is not ended on exit: it stays on the roster offline, keeps its key, and a restart resumes it", async () => {
    await using t = await cliTeam(["alice", "bob"]);
    const [alice, bob] = t.dirs;
    await using first = await startMcp(alice, "sess-alice-keep");
    expect((await first.call("mesh_peers")).isError).toBe(false); // a real session's hooks and tools
    const before = await waitOnline(bob);
    await first.close();
    const after = await waitOffline(bob);
    expect(after.map((p) => ({ pubkey: p.pubkey, online: p.online }))).toEqual([{ pubkey: before.pubkey, online: false }]);
    await using again = await startMcp(alice, "sess-alice-keep");
    expect((await waitOnline(bob)).pubkey).toBe(before.pubkey);
    await again.close();
  }, 60_000);
});
