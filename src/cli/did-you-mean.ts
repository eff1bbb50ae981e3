// "did you mean …?" for a mistyped command or option: a unique prefix (`--prio` → --priority,
// `sen` → send) or, failing that, the nearest name by edit distance (the rule serve's flags use).
import { nearestName } from "../config/argv.ts";

/** The name `written` most likely meant among `names`, or null when none is close. */
export function closest(written: string, names: readonly string[]): string | null {
  if (!written) return null;
  const prefixed = names.filter((n) => n.startsWith(written));
  if (prefixed.length === 1) return prefixed[0]!;
  return nearestName(written, names);
}
