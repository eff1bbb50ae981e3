// What a re-run of `claudemesh install` keeps from the registration it replaces: the user's own
// choices in it, which the new entry would otherwise drop without a word. Install re-runs for
// other reasons (repairing hooks, a new binary path, another config directory), none of which
// means "forget my --label" or "forget the variable I added with claude mcp add -e".
import { checkSessionLabel } from "../display-name.ts";
import type { ServerEntry } from "./mcp-registration.ts";
import { withoutLabel } from "./installed-for.ts";

/** The one variable install sets itself (launcher.ts configDirEnv): never carried over. */
const OWN_ENV = "CLAUDEMESH_CONFIG_DIR";

/** The previous entry's choices: `label` kept (null: none, or one given now replaces it),
 *  `unusableLabel` the reason an old label that fails today's check was dropped, and `env` the
 *  variables other than CLAUDEMESH_CONFIG_DIR, kept as they were. */
export type Kept = { label: string | null; unusableLabel: string | null; env: Record<string, string> };

/** The value of `--label X` (or `--label=X`) in an entry's arguments, if any. */
export function labelIn(args: unknown): string | null {
  if (!Array.isArray(args)) return null;
  for (const [i, a] of args.entries()) {
    if (a === "--label" && typeof args[i + 1] === "string") return args[i + 1];
    if (typeof a === "string" && a.startsWith("--label=")) return a.slice("--label=".length);
  }
  return null;
}

/** What install keeps from `previous` (null: nothing registered); `givenLabel` is --label's value,
 *  which replaces the old label. Never throws: an old label today's check refuses is dropped with
 *  its reason, since a usage error about a --label the user did not type would puzzle them. */
export function keptFrom(previous: ServerEntry | null, givenLabel: string | undefined): Kept {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(previous?.env ?? {})) if (k !== OWN_ENV && typeof v === "string") env[k] = v;
  const old = givenLabel === undefined ? labelIn(previous?.args) : null;
  if (old === null) return { label: null, unusableLabel: null, env };
  try {
    return { label: checkSessionLabel(old), unusableLabel: null, env };
  } catch (err) {
    return { label: null, unusableLabel: (err as Error).message, env };
  }
}

/** An entry reduced to what install decides (no label, no variable but CLAUDEMESH_CONFIG_DIR):
 *  doctor compares this part, so choices install keeps do not count as a wrong registration. */
export function installedPart(entry: ServerEntry): ServerEntry {
  const own = entry.env?.[OWN_ENV];
  const env: Record<string, string> = own === undefined ? {} : { [OWN_ENV]: own };
  return { ...entry, args: withoutLabel(entry.args ?? []), env };
}
