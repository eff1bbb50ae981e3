// claudemesh mcp: the stdio MCP server for one Claude Code session. Logs go to stderr only.
import { basename } from "node:path";
import { hostname } from "node:os";
import { clientEnv, processEnv } from "../../config/client.ts";
import { jsonLog } from "../../log/log.ts";

export async function run(args: { label?: string }): Promise<void> {
  const env = clientEnv(processEnv());
  const log = jsonLog(env.debug ? "debug" : "warn");
  const { runMcpServer } = await import("../../mcp/server.ts");
  const cwd = env.projectDir ?? process.cwd();
  await runMcpServer({
    configDir: env.configDir,
    // Outside Claude Code (`claude mcp list`, a manual run, another MCP client) the identity is
    // per parent process and lasts as long as this one: its key is never saved, and the session
    // ends when this server exits (docs/claude-code.md).
    claudeSessionId: env.claudeSessionId ?? `ppid-${process.ppid}`,
    resumable: env.claudeSessionId !== null,
    label: args.label || basename(cwd) || "session",
    cwd,
    hostname: hostname(),
    log,
  });
}
