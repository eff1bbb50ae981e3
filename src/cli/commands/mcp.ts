// claudemesh mcp: the stdio MCP server for one Claude Code session. Logs go to stderr only.
import { basename } from "node:path";
import { hostname } from "node:os";
import { clientEnv, processEnv } from "../../config/client.ts";
import { jsonLog, type Log } from "../../log/log.ts";
import { parentEnvHas, parentProcessId } from "../../mcp/process-tree.ts";
import { reportError } from "../output.ts";
import { checkSessionLabel, defaultSessionLabel } from "../display-name.ts";

/** What `claudemesh mcp` says when a person runs it in a terminal (stdin a TTY), or null when
 *  stdin is a pipe (Claude Code, any MCP client): it speaks JSON-RPC there and would otherwise
 *  seem to hang. Written to stderr only; stdout is the MCP channel. */
export function terminalNote(stdinIsTty: boolean): string | null {
  return stdinIsTty ? "claudemesh mcp speaks MCP over stdio for Claude Code, not to a person: run claudemesh install to set Claude Code up. Ctrl-C to quit." : null;
}

/** A label given by the registration (install, or a hand edit), checked as install checks it. One
 *  an older install registered may hold what today's rule refuses (U+FE0F in "tea☕️"): it is
 *  cleaned as a directory name is and said on stderr, not refused, which would stop the server in
 *  every Claude Code session until the user found out why. */
export function registeredLabel(label: string, log: Log): string {
  try {
    return checkSessionLabel(label);
  } catch (err) {
    const cleaned = defaultSessionLabel(label);
    log.warn(`the registered --label is not one install takes today, so "${cleaned}" is used instead`, { label, why: (err as Error).message, fix: "claudemesh install --label <label> registers another" });
    return cleaned;
  }
}

/** The Claude session id this server was given, or null. One its parent process holds as well was
 *  inherited, not given: `claudemesh mcp` started by another MCP client (an inspector, a script)
 *  in a Claude Code session's Bash tool, where CLAUDE_CODE_SESSION_ID is that session's. Taken, it
 *  replaced the session's own server at the broker and read its messages. (Claude Code sets the
 *  variable for the servers it starts, never in its own environment.) */
function givenSessionId(id: string | null, log: Log): string | null {
  if (id === null || !parentEnvHas("CLAUDE_CODE_SESSION_ID", id)) return id;
  log.warn("CLAUDE_CODE_SESSION_ID was inherited from the parent process, not set by Claude Code for this server: this server is a session of its own, not that one");
  return null;
}

export async function run(args: { label?: string }): Promise<void> {
  const note = terminalNote(Boolean(process.stdin.isTTY));
  if (note) process.stderr.write(`${note}\n`);
  const env = clientEnv(processEnv());
  const log = jsonLog(env.debug ? "debug" : "warn");
  const { runMcpServer, CONNECT_GRACE_MS, SESSION_CONNECT_GRACE_MS } = await import("../../mcp/server.ts");
  const cwd = env.projectDir ?? process.cwd();
  const claudeSessionId = givenSessionId(env.claudeSessionId, log);
  // What stops the server (a config file others can read, a broken key file) is one line on
  // stderr with its fix and the exit code a command would give, not a stack trace: Claude Code
  // shows the server as failed, and `claude mcp list` or a manual run shows why.
  await runMcpServer({
    configDir: env.configDir,
    // Outside Claude Code (a manual run, another MCP client, an older Claude Code) the identity is
    // per parent process (its pid and start time): a restart under the same parent resumes it, a
    // later process that reuses the pid does not. Any server may be a health check (`claude mcp
    // list` gives it a session id of its own), so it connects once used or after a grace period
    // (docs/claude-code.md).
    claudeSessionId: claudeSessionId ?? parentProcessId(),
    connectGraceMs: claudeSessionId === null ? CONNECT_GRACE_MS : SESSION_CONNECT_GRACE_MS,
    label: args.label ? registeredLabel(args.label, log) : defaultSessionLabel(basename(cwd)),
    cwd,
    hostname: hostname(),
    log,
  }).catch((err: unknown) => process.exit(reportError(err, false, env.debug, "mcp")));
}
