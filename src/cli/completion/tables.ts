// The `case` tables bash and zsh share (the syntax is the same; only what a match does differs):
// which words form the command path, each path's options, and what goes after an option that
// takes a value or at the nth positional. The drivers in bash.ts and zsh.ts read them.
import type { Node, Value } from "./tree.ts";

/** What a shell does with a fixed list, with a path (its file names), and with free text. */
export type Actions = { words: (words: string[]) => string; files: string; text: string };

const q = (s: string) => `"${s}"`;

/** `case` arms grouped by what they do: one line per list, one for every path, the rest `*)`. */
function arms(entries: [string, Value][], act: Actions, indent: string): string {
  const groups = new Map<string, string[]>();
  for (const [key, value] of entries) {
    if (value === "text") continue;
    const action = value === "files" ? act.files : act.words(value.words);
    groups.set(action, [...(groups.get(action) ?? []), q(key)]);
  }
  return [...[...groups].map(([action, keys]) => `${indent}${keys.join("|")}) ${action};;`), `${indent}*) ${act.text};;`].join("\n");
}

/** The sub-command paths ("topic post"), matched against the first two command words. */
export const subPaths = (nodes: Node[]) => `${nodes.filter((n) => n.path.includes(" ")).map((n) => q(n.path)).join("|")}`;

/** Per path, `opts` the options that take a value (long and short) and `flags` the rest; one arm
 *  for the paths that have the same. */
export function optionArms(nodes: Node[], indent: string): string {
  const groups = new Map<string, string[]>();
  for (const n of nodes) {
    const names = (takesValue: boolean) => n.options.filter((o) => (o.value !== null) === takesValue).flatMap((o) => o.names).join(" ");
    const action = `opts="${names(true)}" flags="${names(false)}"`;
    groups.set(action, [...(groups.get(action) ?? []), q(n.path)]);
  }
  return [...groups].map(([action, paths]) => `${indent}${paths.join("|")}) ${action};;`).join("\n");
}

/** Arms on "$cmd $prev": the value of the option before the cursor. */
export function valueArms(nodes: Node[], act: Actions, indent: string): string {
  const entries = nodes.flatMap((n) => n.options.flatMap((o) => (o.value === null ? [] : o.names.map((name): [string, Value] => [`${n.path} ${name}`, o.value!]))));
  return arms(entries, act, indent);
}

/** Arms on "$cmd $n": the nth positional (0 first); past the last one, nothing. */
export function positionalArms(nodes: Node[], act: Actions, indent: string): string {
  return arms(nodes.flatMap((n) => n.positionals.map((v, i): [string, Value] => [`${n.path} ${i}`, v])), act, indent);
}
