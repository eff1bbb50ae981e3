// Settings of the client side (CLI, MCP server, hooks), read once from the environment.
import { homedir } from "node:os";
import { join } from "node:path";

export { processEnv } from "./load.ts";

export type ClientEnv = Readonly<{
  /** The user's home (Claude Code's settings live under it). */
  home: string;
  /** ~/.claudemesh, or CLAUDEMESH_CONFIG_DIR. */
  configDir: string;
  /** CLAUDEMESH_BROKER_URL: the broker `new` uses when --broker is not given. */
  brokerUrl: string | null;
  /** CLAUDEMESH_MESH: the mesh (slug or id) commands use when --mesh is not given. */
  mesh: string | null;
  /** CLAUDEMESH_TIMEOUT as given (a duration, "15s"); checked by brokerTimeoutMs (src/cli/context.ts). */
  timeout: string | null;
  /** CLAUDEMESH_DEBUG=1: verbose logs on stderr. */
  debug: boolean;
  /** Colour and spinners only for a terminal, never under CI or NO_COLOR. */
  interactive: boolean;
  /** Set by Claude Code for the MCP servers it starts (CLAUDEMESH_SESSION_ID overrides). */
  claudeSessionId: string | null;
  /** Claude Code's project directory (CLAUDE_PROJECT_DIR), for the session label. */
  projectDir: string | null;
  /** Claude Code runs without a person to wake: `claude -p` (CLAUDE_CODE_ENTRYPOINT sdk-cli) or
   *  the Agent SDK (sdk-ts, sdk-py). It waits for a running asyncRewake hook before it ends. */
  claudeHeadless: boolean;
  /** A desktop session where `claudemesh dashboard` may open a browser: macOS, or DISPLAY /
   *  WAYLAND_DISPLAY set; never under CI. */
  desktop: boolean;
  /** CLAUDEMESH_BROWSER: the command that opens the dashboard's page (its path appended). */
  browser: string | null;
}>;

/** The config directory `env` names (CLAUDEMESH_CONFIG_DIR), else the default under its HOME. */
export const configDirOf = (env: Record<string, string | undefined>): string => env.CLAUDEMESH_CONFIG_DIR || join(env.HOME || homedir(), ".claudemesh");

export function clientEnv(env: Record<string, string | undefined> = process.env, stderrIsTty = Boolean(process.stderr.isTTY)): ClientEnv {
  return Object.freeze({
    home: env.HOME || homedir(),
    configDir: configDirOf(env),
    brokerUrl: env.CLAUDEMESH_BROKER_URL || null,
    mesh: env.CLAUDEMESH_MESH?.trim() || null,
    timeout: env.CLAUDEMESH_TIMEOUT?.trim() || null,
    debug: env.CLAUDEMESH_DEBUG === "1" || env.CLAUDEMESH_DEBUG === "true",
    interactive: stderrIsTty && !env.CI && !env.NO_COLOR,
    claudeSessionId: env.CLAUDEMESH_SESSION_ID || env.CLAUDE_CODE_SESSION_ID || null,
    projectDir: env.CLAUDE_PROJECT_DIR || null,
    claudeHeadless: env.CLAUDE_CODE_ENTRYPOINT?.startsWith("sdk-") ?? false,
    desktop: !env.CI && (process.platform === "darwin" || Boolean(env.DISPLAY || env.WAYLAND_DISPLAY)),
    browser: env.CLAUDEMESH_BROWSER?.trim() || null,
  });
}
