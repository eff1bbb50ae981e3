// `claude mcp list` starts `claudemesh mcp` without CLAUDE_CODE_SESSION_ID, initializes and closes
// stdin. That server's identity (the per-process fallback) can never be resumed, so it must leave
// nothing behind: no peer on the roster (docs/protocol.md §4.3.10 session_end), no key file. A
// real Claude Code session (with the id) keeps its peer and key across an exit, for --resume.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { cli, cliTeam, ok } from "../helpers/cli.ts";
import { startMcp, type McpSession } from "../helpers/mcp.ts";
import type { PeerInfo } from "../../src/protocol/results.ts";

/** alice's sessions as bob's CLI sees them, offline ones included. */
async function aliceSessions(bob: string): Promise<PeerInfo[]> {
  const { peers } = ok(await cli(bob, ["peers", "--all", "--json"])).json() as { peers: PeerInfo[] };
  return peers.filter((p) => p.kind === "session" && p.displayName === "alice/app");
}

async function waitOnline(bob: string): Promise<PeerInfo> {
  for (let i = 0; i < 100; i++) {
    const live = (await aliceSessions(bob)).find((p) => p.online);
    if (live) return live;
    await Bun.sleep(100);
  }
  throw new Error("alice/app never came online");
}

/** Files under alice's sessions/ (session keys) and seen/ (replay memories). */
const keyFiles = (cfg: string) => ["sessions", "seen"].flatMap((d) => (existsSync(join(cfg, d)) ? readdirSync(join(cfg, d), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => `${d}/${e.name}`) : []));

/** Closes stdin as a client does; returns how long the server took to exit. The SDK's client sends
 *  SIGTERM only after 2 s, so an exit within that was the server's own. */
async function closeTimed(s: McpSession): Promise<number> {
  const started = performance.now();
  await s.close();
  return performance.now() - started;
}

/** Starts a server without CLAUDE_CODE_SESSION_ID (the helper's empty id counts as unset). */
const noSessionId = (cfg: string) => startMcp(cfg, "");

describe("an MCP server without a Claude session id", () => {
  test("a health check (initialize, close at once) leaves no peer and no key file", async () => {
    await using t = await cliTeam(["alice", "bob"]);
    const [alice, bob] = t.dirs;
    for (let i = 0; i < 2; i++) {
      const s = await noSessionId(alice);
      expect((await s.client.listTools()).tools.length).toBeGreaterThan(0);
      expect(await closeTimed(s)).toBeLessThan(2000);
    }
    expect(await aliceSessions(bob)).toEqual([]);
    expect(keyFiles(alice)).toEqual([]);
  }, 60_000);

  test("once connected and used, it still ends its session on exit; bob's `send alice/app` then reaches the live session alone", async () => {
    await using t = await cliTeam(["alice", "bob"]);
    const [alice, bob] = t.dirs;
    const manual = await noSessionId(alice);
    const ghostKey = (await waitOnline(bob)).pubkey;
    expect((await manual.call("mesh_send", { to: "bob", message: "hello from a manual run" })).isError).toBe(false);
    expect(await closeTimed(manual)).toBeLessThan(2000);
    expect(await aliceSessions(bob)).toEqual([]);
    expect(keyFiles(alice)).toEqual([]);

    // The real session in the same project is now the only "alice/app".
    const real = await startMcp(alice, "sess-alice-real");
    const live = await waitOnline(bob);
    expect(live.pubkey).not.toBe(ghostKey);
    expect(ok(await cli(bob, ["send", "alice/app", "for the live one", "--json"])).json()).toMatchObject({ to: live.pubkey });
    await real.close();
  }, 60_000);

  test("SIGTERM ends it too, promptly", async () => {
    await using t = await cliTeam(["alice", "bob"]);
    const [alice, bob] = t.dirs;
    const s = await noSessionId(alice);
    await waitOnline(bob);
    const pid = (s.client.transport as unknown as { pid: number | null }).pid!;
    const started = performance.now();
    process.kill(pid, "SIGTERM");
    for (let i = 0; i < 40 && isAlive(pid); i++) await Bun.sleep(50);
    expect(isAlive(pid)).toBe(false);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(await aliceSessions(bob)).toEqual([]);
    await s.close();
  }, 60_000);

  test("with its broker down, it still exits within the bound (health checks wait for the exit)", async () => {
    await using t = await cliTeam(["alice", "bob"]);
    const [alice] = t.dirs;
    await t.b.stop();
    const s = await noSessionId(alice);
    // END_SESSION_MS (1.5 s) for a session_end that gets no answer, then the exit.
    expect(await closeTimed(s)).toBeLessThan(2500);
    expect(keyFiles(alice)).toEqual([]);
  }, 60_000);
});

describe("a Claude Code session (CLAUDE_CODE_SESSION_ID)", () => {
  test("is not ended on exit: it stays on the roster offline, keeps its key, and a restart resumes it", async () => {
    await using t = await cliTeam(["alice", "bob"]);
    const [alice, bob] = t.dirs;
    const first = await startMcp(alice, "sess-alice-keep");
    const before = await waitOnline(bob);
    expect(keyFiles(alice).filter((f) => f.startsWith("sessions/"))).toHaveLength(1);
    await first.close();
    let after: PeerInfo[] = [];
    for (let i = 0; i < 50 && !(after = await aliceSessions(bob)).every((p) => !p.online); i++) await Bun.sleep(100);
    expect(after.map((p) => ({ pubkey: p.pubkey, online: p.online }))).toEqual([{ pubkey: before.pubkey, online: false }]);
    expect(keyFiles(alice).filter((f) => f.startsWith("sessions/"))).toHaveLength(1);
    const again = await startMcp(alice, "sess-alice-keep");
    expect((await waitOnline(bob)).pubkey).toBe(before.pubkey);
    await again.close();
  }, 60_000);
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
