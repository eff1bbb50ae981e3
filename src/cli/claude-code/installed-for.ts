// Which config directory `claudemesh install` set Claude Code up for, read back from the MCP
// registration and the hooks. doctor compares it with its own shell's: run from a shell without
// the CLAUDEMESH_CONFIG_DIR that install saw, it would otherwise take a working setup for a
// missing one, and its "claudemesh install" would re-point Claude Code at a directory with no mesh.
import { resolve } from "node:path";
import { configDirOf } from "../../config/client.ts";
import { configDirEnv, hookLauncher, launcher } from "./launcher.ts";
import { sameEntry, type ServerEntry } from "./mcp-registration.ts";
import { isOurs, missingHooks, type Settings } from "./hooks-settings.ts";

/** An entry's arguments without `--label <name>` (a per-install choice, not what server it is). */
export const withoutLabel = (args: string[]) => args.filter((a, i, all) => a !== "--label" && all[i - 1] !== "--label" && !String(a).startsWith("--label="));

/** The config directory `entry` passes on to this claudemesh's MCP server, or null when the entry
 *  starts something else (another binary, other arguments: then it is not "ours for elsewhere"). */
export function entryConfigDir(entry: ServerEntry, home: string): string | null {
  const argv = launcher();
  const bare = { ...entry, args: withoutLabel(entry.args ?? []), env: {} };
  if (!sameEntry(bare, { type: "stdio", command: argv[0]!, args: [...argv.slice(1), "mcp"], env: {} })) return null;
  return resolve(entry.env?.CLAUDEMESH_CONFIG_DIR || configDirOf({ HOME: home }));
}

/** The inverse of shellCommand for the one word `CLAUDEMESH_CONFIG_DIR=…` after `env `. */
const HOOK_DIR = /^env (?:'CLAUDEMESH_CONFIG_DIR=((?:[^']|'\\'')*)'|CLAUDEMESH_CONFIG_DIR=(\S+)) /;

/** The config directory, other than `current`, for which every one of our hooks is installed
 *  (read from their `env CLAUDEMESH_CONFIG_DIR=…` prefix, or the default directory without one),
 *  or null when there is none such. */
export function hooksConfigDir(settings: Settings, home: string, current: string): string | null {
  const ours = Object.values(settings.hooks ?? {}).flatMap((gs) => gs.flatMap((g) => g.hooks.filter(isOurs).map((h) => h.command)));
  const dirs = new Set(ours.map((c) => {
    const m = HOOK_DIR.exec(c);
    return resolve(m ? (m[1]?.replace(/'\\''/g, "'") ?? m[2]!) : configDirOf({ HOME: home }));
  }));
  dirs.delete(resolve(current));
  for (const dir of dirs) if (missingHooks(settings, hookLauncher(configDirEnv(dir, home))).length === 0) return dir;
  return null;
}
