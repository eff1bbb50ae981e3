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
    // Outside Claude Code (`claude mcp list`, a manual run, another MCP client, an older Claude
    // Code) the identity is per parent process: a restart under the same parent resumes it. Such
    // a server may be a health check, so it connects only once used (docs/claude-code.md).
    claudeSessionId: env.claudeSessionId ?? `ppid-${process.ppid}`,
    deferConnect: env.claudeSessionId === null,
    label: args.label || basename(cwd) || "session",
    cwd,
    hostname: hostname(),
    log,
  });
}
