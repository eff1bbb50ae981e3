// A real MCP client (the SDK's Client over stdio) driving `claudemesh mcp` as Claude Code would:
// with CLAUDE_CODE_SESSION_ID and CLAUDE_PROJECT_DIR set, collecting channel notifications.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { resolve } from "node:path";
import { until } from "./until.ts";

const MAIN = resolve(import.meta.dir, "../../src/main.ts");

/** This process's environment without the variables a developer's shell may set that would
 *  change what the server or hook does (an explicit session id, debug logs). */
function hostEnv(): Record<string, string> {
  const env = { ...(process.env as Record<string, string>) };
  for (const k of ["CLAUDEMESH_SESSION_ID", "CLAUDEMESH_DEBUG", "CLAUDEMESH_MESH", "CLAUDEMESH_BROKER_URL"]) delete env[k];
  return env;
}

export type HookRun = { code: number; out: any; stderr: string; ms: number };

/** Runs `claudemesh hook <event>` as Claude Code would, with `input` (the hook JSON) on stdin. */
export async function runHook(configDir: string, event: string, input: string): Promise<HookRun> {
  const proc = startHook(configDir, event, input);
  const started = performance.now();
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, out: stdout.trim() ? JSON.parse(stdout) : null, stderr, ms: performance.now() - started };
}

/** Starts `claudemesh hook <event>` and returns its process (a test may kill it, as Claude Code
 *  does to a waiting asyncRewake hook). `stdout`: a file descriptor to write to instead of a pipe;
 *  `env`: what Claude Code adds to a hook's environment (CLAUDE_CODE_ENTRYPOINT, …). */
export function startHook<Out extends "pipe" | number = "pipe">(configDir: string, event: string, input: string, stdout: Out = "pipe" as Out, env: Record<string, string> = {}) {
  return Bun.spawn([process.execPath, "run", MAIN, "hook", event], {
    env: { ...hostEnv(), CLAUDEMESH_CONFIG_DIR: configDir, ...env },
    stdin: new TextEncoder().encode(input),
    stdout,
    stderr: "pipe",
  });
}

/** The hook JSON Claude Code sends, reduced to what claudemesh reads. */
export const hookInput = (sessionId: string, event: string) => JSON.stringify({ session_id: sessionId, cwd: "/work/projects/app", hook_event_name: event });

export type Notification = { content: string; meta: Record<string, unknown> };

export type McpSession = {
  client: Client;
  /** The server's process id (to stop and continue it). */
  pid: number;
  notifications: Notification[];
  call(name: string, args?: Record<string, unknown>): Promise<{ text: string; isError: boolean }>;
  waitNotification(pred?: (n: Notification) => boolean, timeoutMs?: number): Promise<Notification>;
  /** Everything the server wrote to stderr so far (its logs). */
  stderr(): string;
  /** Closes stdin and waits for the server to exit (the SDK sends SIGTERM after 2 s); again is a no-op. */
  close(): Promise<void>;
  /** close(), at the end of an `await using` scope. */
  [Symbol.asyncDispose](): Promise<void>;
};

export async function startMcp(configDir: string, claudeSessionId: string, projectDir = "/work/projects/app", command: string[] = [process.execPath, "run", MAIN], env: Record<string, string> = {}): Promise<McpSession> {
  const transport = new StdioClientTransport({
    command: command[0]!,
    args: [...command.slice(1), "mcp"],
    env: { ...hostEnv(), CLAUDEMESH_CONFIG_DIR: configDir, CLAUDE_CODE_SESSION_ID: claudeSessionId, CLAUDE_PROJECT_DIR: projectDir, CLAUDECODE: "1", ...env },
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client({ name: "test-claude", version: "1.0.0" });
  const notifications: Notification[] = [];
  const waiters = new Set<() => void>();
  client.fallbackNotificationHandler = async (n: any) => {
    if (n.method === "notifications/claude/channel") {
      notifications.push(n.params);
      waiters.forEach((w) => w());
    }
  };
  await client.connect(transport);
  return {
    client,
    pid: transport.pid!,
    notifications,
    async call(name, args = {}) {
      const r: any = await client.callTool({ name, arguments: args });
      return { text: r.content.map((c: any) => c.text).join("\n"), isError: Boolean(r.isError) };
    },
    waitNotification(pred = () => true, timeoutMs = 10_000) {
      return new Promise((res, rej) => {
        const check = () => {
          const n = notifications.find(pred);
          if (n) {
            waiters.delete(check);
            clearTimeout(t);
            res(n);
          }
        };
        const t = setTimeout(() => {
          waiters.delete(check);
          rej(new Error(`no matching channel notification within ${timeoutMs} ms (have ${notifications.length})`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    stderr: () => stderr,
    close: () => client.close(),
    [Symbol.asyncDispose]: () => client.close(),
  };
}

/** Resolves with mesh_peers' text once it lists `peer` (a session, like "bob/app"): the peer's
 *  server has connected and this one's roster shows it. */
export async function waitPeer(s: McpSession, peer: string, timeoutMs = 10_000): Promise<string> {
  let text = "";
  await until(async () => (text = (await s.call("mesh_peers")).text).includes(peer), `${peer} in mesh_peers`, timeoutMs);
  return text;
}

/** Resolves once the server answers mesh_peers without an error: it is connected to its mesh. */
export const waitConnected = (s: McpSession, timeoutMs = 10_000) => until(async () => !(await s.call("mesh_peers")).isError, "the MCP server connected to its mesh", timeoutMs);
