// A real Claude Code run without a person (`claude -p`, docs/claude-code.md "Hooks"), against a
// stand-in for the Anthropic API: with claudemesh installed it calls the mesh tools and ends as
// soon as its answer is given. Claude Code waits for a running asyncRewake hook before a print-mode
// run ends, and the `wait` hook used to wait up to 30 minutes for a message, holding every
// `claude -p` open that long.
import { expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { startBroker } from "../helpers/broker.ts";
import { cli, ok } from "../helpers/cli.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { claudeEnvFor, startFakeAnthropic } from "../helpers/fake-anthropic.ts";
import { hookInput, startHook, startMcp, waitConnected } from "../helpers/mcp.ts";

const BIN = resolve(import.meta.dir, "../../node_modules/.bin");

test("claude -p with claudemesh installed calls the mesh tools and ends at once", async () => {
  await using b = await startBroker();
  await using api = startFakeAnthropic();
  const h = tempDir("cm-home-");
  const env = { HOME: h, PATH: `${BIN}:${process.env.PATH}` };
  ok(await cli(join(h, ".claudemesh"), ["new", "Team", "--broker", b.url, "--display-name", "alice"], { env }));
  ok(await cli(join(h, ".claudemesh"), ["install"], { env, timeoutMs: 90_000 }));
  const project = join(h, "shop");
  mkdirSync(project);
  const started = performance.now();
  const run = Bun.spawn([join(BIN, "claude"), "-p", "CALL mesh_peers {}", "--allowedTools", "mcp__claudemesh__*", "--output-format", "json"], {
    cwd: project,
    // The test run's own CLAUDEMESH_CONFIG_DIR (test/preload.ts) would reach the server and hooks.
    env: { ...process.env, ...env, CLAUDEMESH_CONFIG_DIR: join(h, ".claudemesh"), ...claudeEnvFor(api) },
    stdout: "pipe",
    stderr: "pipe",
  });
  const killer = setTimeout(() => run.kill(), 45_000);
  const [out, code] = await Promise.all([new Response(run.stdout).text(), run.exited]);
  clearTimeout(killer);
  expect({ code, fast: performance.now() - started < 30_000 }).toEqual({ code: 0, fast: true });
  const result = JSON.parse(out);
  expect(result.result).toBe("done");
  // The tool ran in this session's MCP server, under the session id Claude Code gave it.
  expect(api.seen().join("\n")).toContain('"alice/shop" (you)');
  const meshId = JSON.parse(readFileSync(join(h, ".claudemesh", "config.json"), "utf8")).meshes[0].meshId;
  const keyFile = `${createHash("sha256").update(result.session_id).digest("hex").slice(0, 32)}.json`;
  expect(readdirSync(join(h, ".claudemesh", "sessions", meshId))).toEqual([keyFile]);
}, 120_000);

test("the wait hook returns at once for claude -p and the Agent SDK, and waits in an interactive session", async () => {
  await using b = await startBroker();
  const h = tempDir("cm-home-");
  const dir = join(h, ".claudemesh");
  ok(await cli(dir, ["new", "Team", "--broker", b.url, "--display-name", "alice"]));
  await using s = await startMcp(dir, "sess-print");
  await waitConnected(s);
  for (const entrypoint of ["sdk-cli", "sdk-ts", "sdk-py"]) {
    const hook = startHook(dir, "wait", hookInput("sess-print", "Stop"), "pipe", { CLAUDE_CODE_ENTRYPOINT: entrypoint });
    const killer = setTimeout(() => hook.kill(), 5000);
    expect({ entrypoint, code: await hook.exited, signal: hook.signalCode }).toEqual({ entrypoint, code: 0, signal: null });
    clearTimeout(killer);
  }
  const interactive = startHook(dir, "wait", hookInput("sess-print", "Stop"), "pipe", { CLAUDE_CODE_ENTRYPOINT: "cli" });
  await Bun.sleep(2000);
  expect(interactive.exitCode).toBe(null);
  interactive.kill();
  await interactive.exited;
}, 60_000);
