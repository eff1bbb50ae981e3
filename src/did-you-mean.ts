// "Did you mean …?": the one matcher for every name a person types, a flag (`serve --prot`), a
// command (`sen`), an environment variable, a topic (`#deplyos`), a peer or a capability. Pure and
// a leaf, so that config, the CLI and the client (for the MCP tools) share it.

/** The name `written` most likely meant among `names`, or null when none is close: a unique prefix
 *  (`--prio` → priority, `sen` → send), a unique name that has it as a whole word (`--name` →
 *  display-name, `deploys` → prod-deploys) or, failing those, the nearest by spelling
 *  (nearestName). */
export function closest(written: string, names: readonly string[]): string | null {
  if (!written) return null;
  const prefixed = names.filter((n) => n.startsWith(written));
  if (prefixed.length === 1) return prefixed[0]!;
  const worded = written.length >= 3 ? names.filter((n) => n !== written && n.split(/[-_/.]/).includes(written)) : [];
  if (worded.length === 1) return worded[0]!;
  return nearestName(written, names);
}

/** The name among `names` that `written` most likely meant by spelling (camelCase read as
 *  kebab-case, then the fewest edits within one per three letters, at most 3: `prot` finds port,
 *  `x` finds nothing), or null. */
export function nearestName(written: string, names: readonly string[]): string | null {
  const kebab = written.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  if (names.includes(kebab)) return kebab;
  let best: string | null = null;
  let bestDistance = Math.max(1, Math.min(3, Math.floor(kebab.length / 3))) + 1;
  for (const f of names) {
    const d = editDistance(kebab, f);
    if (d < bestDistance) [best, bestDistance] = [f, d];
  }
  return best;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}
