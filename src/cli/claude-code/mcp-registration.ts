// Registering `claudemesh mcp` with Claude Code for the user: through `claude mcp add --scope
// user` when the claude CLI is on PATH (its own validation and file handling), otherwise by editing
// ~/.claude.json (after a backup). Either way the result is the same mcpServers entry.
import { MeshError } from "../../protocol/errors.ts";
import { processEnv } from "../../config/client.ts";
import { claudeJsonPath, readJson, writeJsonIfChanged } from "./claude-files.ts";

export const SERVER_NAME = "claudemesh";
export type ServerEntry = { type: "stdio"; command: string; args: string[]; env: Record<string, string> };

/** ~/.claude.json's contents (readJson: {} when there is none; LocalFileError when unusable). */
export const readClaudeJson = (home: string): Record<string, any> => readJson(claudeJsonPath(home));

/** Our entry in ~/.claude.json's contents, if any. */
export const entryIn = (claudeJson: Record<string, any>): ServerEntry | null => (claudeJson.mcpServers?.[SERVER_NAME] as ServerEntry | undefined) ?? null;

const envText = (e: ServerEntry) => JSON.stringify(Object.entries(e.env ?? {}).sort());

/** Whether `a` starts the same server as `b`: command, arguments and environment (the config
 *  directory travels in the environment). */
export const sameEntry = (a: ServerEntry | null, b: ServerEntry) =>
  a !== null && a.command === b.command && JSON.stringify(a.args) === JSON.stringify(b.args) && envText(a) === envText(b);

/** "CLAUDEMESH_CONFIG_DIR=/x claudemesh mcp": what an entry runs, for people. */
export const entryText = (e: ServerEntry) => [...Object.entries(e.env ?? {}).map(([k, v]) => `${k}=${v}`), e.command, ...e.args].join(" ");

function claudeCli(home: string, args: string[]): { code: number; out: string } {
  const claude = Bun.which("claude");
  if (!claude) return { code: -1, out: "" };
  const p = Bun.spawnSync([claude, ...args], { env: { ...processEnv(), HOME: home }, stdout: "pipe", stderr: "pipe", timeout: 60_000 });
  return { code: p.exitCode ?? 1, out: `${p.stdout.toString()}${p.stderr.toString()}` };
}

const claudeAdd = (home: string, e: ServerEntry) =>
  claudeCli(home, ["mcp", "add", "--scope", "user", SERVER_NAME, ...Object.entries(e.env ?? {}).flatMap(([k, v]) => ["-e", `${k}=${v}`]), "--", e.command, ...(e.args ?? [])]);

/** Registers the entry, given ~/.claude.json as read before anything was changed; returns how, or
 *  null when it was already registered exactly so. */
export function register(home: string, entry: ServerEntry, claudeJson: Record<string, any>): "claude mcp add" | "~/.claude.json" | null {
  const existing = entryIn(claudeJson);
  if (sameEntry(existing, entry)) return null;
  if (Bun.which("claude")) {
    const removed = existing !== null && claudeCli(home, ["mcp", "remove", "--scope", "user", SERVER_NAME]).code === 0;
    const r = claudeAdd(home, entry);
    if (r.code === 0) return "claude mcp add";
    // The old entry is gone: put it back rather than leave Claude Code with none (a command entry;
    // one of another shape, edited in by hand, is not ours to rebuild).
    const putBack = removed && typeof existing.command === "string" && claudeAdd(home, existing).code === 0;
    const after = !removed ? "" : putBack ? " The previous registration was put back." : " The previous registration was removed and could not be put back: run claudemesh install again once claude works.";
    throw new MeshError("internal", `claude mcp add failed (${r.out.trim() || `exit ${r.code}`}).${after}`);
  }
  writeJsonIfChanged(claudeJsonPath(home), { ...claudeJson, mcpServers: { ...(claudeJson.mcpServers ?? {}), [SERVER_NAME]: entry } });
  return "~/.claude.json";
}

/** Removes our entry only, given ~/.claude.json as read before anything was changed; returns
 *  whether one was there. */
export function unregister(home: string, claudeJson: Record<string, any>): boolean {
  if (!entryIn(claudeJson)) return false;
  let now = claudeJson;
  if (Bun.which("claude")) {
    const r = claudeCli(home, ["mcp", "remove", "--scope", "user", SERVER_NAME]);
    // Read again whatever claude answered: it may have changed the file.
    now = readClaudeJson(home);
    if (r.code === 0 && !entryIn(now)) return true;
  }
  const { [SERVER_NAME]: _, ...others } = now.mcpServers ?? {};
  writeJsonIfChanged(claudeJsonPath(home), { ...now, mcpServers: others });
  return true;
}
