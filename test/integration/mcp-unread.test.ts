// A message reaches the model or stays with the broker: the MCP server acks it only once a tool
// returned it or a hook showed it. Each test here was a way an unread message got acked (lost at
// the next restart) or stuck unread; each failed before its fix (src/mcp/mesh-link.ts, tools.ts).
import { describe, expect, test } from "bun:test";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cliTeam } from "../helpers/cli.ts";
import { hookInput, runHook, startHook, startMcp, type McpSession } from "../helpers/mcp.ts";
import { linkProxy } from "../helpers/tcp-proxy.ts";

/** Points a config dir's (only) mesh at another broker URL (a proxy in front of the real one). */
function useBroker(configDir: string, url: string): void {
  const path = join(configDir, "config.json");
  const cfg = JSON.parse(readFileSync(path, "utf8"));
  cfg.meshes[0].brokerUrl = url;
  writeFileSync(path, JSON.stringify(cfg));
  chmodSync(path, 0o600);
}

async function seesBob(a: McpSession): Promise<void> {
  for (let i = 0; i < 50 && !(await a.call("mesh_peers")).text.includes("bob/app"); i++) await Bun.sleep(100);
}

describe("mcp: unread messages stay unread", () => {
  test("a pending message redelivered after a reconnect is not acked: it survives a restart of the server", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { dirs: [alice, bob] } = team;
    using proxy = linkProxy(Number(new URL(team.b.url).port));
    useBroker(bob, proxy.url);
    let bb = await startMcp(bob, "sess-bob-redeliver");
    const a = await startMcp(alice, "sess-alice-redeliver");
    await seesBob(a);
    expect((await a.call("mesh_send", { to: "bob/app", message: "do not lose me" })).isError).toBe(false);
    await bb.waitNotification((n) => n.content.includes("do not lose me"));
    proxy.cut(); // a network blip: bob's server reconnects and the broker pushes the message again
    for (let i = 0; i < 100 && !/reconnect/.test(bb.stderr()); i++) await Bun.sleep(50);
    for (let i = 0; i < 100 && (await bb.call("mesh_peers")).isError; i++) await Bun.sleep(50);
    await Bun.sleep(500); // the redelivery arrives, and an ack would follow within 250 ms
    await bb.close(); // Claude Code restarts; the model never read it
    bb = await startMcp(bob, "sess-bob-redeliver");
    expect((await bb.call("mesh_inbox")).text).toContain("do not lose me");
    await a.close();
    await bb.close();
  }, 60_000);

  test("a cancelled mesh_inbox marks nothing read", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { dirs: [alice, bob] } = team;
    let bb = await startMcp(bob, "sess-bob-cancel");
    const a = await startMcp(alice, "sess-alice-cancel");
    await seesBob(a);
    await bb.close();
    expect((await a.call("mesh_send", { to: "bob/app", message: "read while cancelled" })).isError).toBe(false);
    bb = await startMcp(bob, "sess-bob-cancel");
    // The call waits for the first connect; the user presses Esc meanwhile.
    const ac = new AbortController();
    const call = bb.client.callTool({ name: "mesh_inbox", arguments: {} }, undefined, { signal: ac.signal }).catch((e: Error) => e);
    setTimeout(() => ac.abort("Esc"), 20);
    expect(await call).toBeInstanceOf(Error);
    await Bun.sleep(600); // past the replay file's write, after which a read message is acked
    expect((await bb.call("mesh_inbox")).text).toContain("read while cancelled");
    await a.close();
    await bb.close();
  }, 60_000);

  test("a waiting asyncRewake hook that is killed leaves the next message unread", async () => {
    // Its wait went on inside the server, which marked the next message seen for nobody.
    await using team = await cliTeam(["alice", "bob"]);
    const { dirs: [alice, bob] } = team;
    const bb = await startMcp(bob, "sess-bob-killed");
    const a = await startMcp(alice, "sess-alice-killed");
    await seesBob(a);
    const waiting = startHook(bob, "wait", hookInput("sess-bob-killed", "Stop"));
    await Bun.sleep(1000); // it starts and asks the server to wait
    waiting.kill("SIGKILL"); // a new turn, an interrupt: Claude Code kills it
    await waiting.exited;
    await Bun.sleep(100);
    expect((await a.call("mesh_send", { to: "bob/app", message: "not for a dead hook" })).isError).toBe(false);
    await bb.waitNotification((n) => n.content.includes("not for a dead hook"));
    await Bun.sleep(600); // past the replay file's write, after which a seen message is acked
    const shown = await runHook(bob, "user-prompt-submit", hookInput("sess-bob-killed", "UserPromptSubmit"));
    expect(JSON.stringify(shown.out)).toContain("not for a dead hook");
    await a.close();
    await bb.close();
  }, 60_000);

  test("more unread messages than 500 are all kept: none stays claimed and unshown", async () => {
    // The server kept 500 and dropped later pushes unacked; the broker, which pushes up to 1024 to
    // a connection, counted them as out and did not push them again until a reconnect.
    await using team = await cliTeam(["alice", "bob"]);
    const { dirs: [alice, bob] } = team;
    const bb = await startMcp(bob, "sess-bob-many");
    const a = await startMcp(alice, "sess-alice-many");
    await seesBob(a);
    const N = 520;
    for (let i = 0; i < N; i += 40) await Promise.all(Array.from({ length: 40 }, (_, j) => a.call("mesh_send", { to: "bob/app", message: `msg-${i + j}` })));
    await bb.waitNotification((n) => n.content.includes(`msg-${N - 1}`), 20_000);
    const shown = new Set<string>();
    for (let k = 0; k < 20; k++) {
      const t = (await bb.call("mesh_inbox", { limit: 50 })).text;
      for (const m of t.matchAll(/msg-(\d+)/g)) shown.add(m[1]!);
      if (t === "No new messages.") break;
    }
    expect(shown.size).toBe(N);
    await a.close();
    await bb.close();
  }, 90_000);
});
