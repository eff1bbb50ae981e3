// What the completion scripts complete, read from the same citty definitions `--help` prints, so
// the two cannot drift: every command path with its sub-commands, options and positionals, and for
// each value whether it is one of a fixed list, a path, or free text (nothing to offer).
import type { ArgDef, ArgsDef, CommandDef } from "citty";
import { SETTINGS, flagName } from "../../config/spec.ts";
import { choicesOf, takesMany } from "../choice-arg.ts";

/** A fixed list of words, a path (the shell's file names), or free text (nothing offered: peer and
 *  topic names would need a broker round trip per TAB). */
export type Value = { words: string[] } | "files" | "text";

/** `value` null: a flag, which takes no value. `names` long first, then its short aliases. */
export type Option = { names: string[]; value: Value | null };

/** `path` "" is claudemesh itself, "topic post" a sub-command. A command with sub-commands has
 *  them as its one positional: `topic <TAB>`, like `status <TAB>`, offers a list. */
export type Node = { path: string; options: Option[]; positionals: Value[] };

/** Options every command takes (runCli hands them to citty's usage), and the root's own. */
const HELP: Option = { names: ["--help", "-h"], value: null };
const ROOT_OPTIONS: Option[] = [HELP, { names: ["--version", "-v"], value: null }];

/** serve's flags are the broker settings (args.ts): a directory setting is a path, the rest text
 *  (an enum setting carries its list as any choice argument does). */
const SETTING_VALUES: Record<string, Value> = Object.fromEntries(SETTINGS.map((s): [string, Value] => [flagName(s.key), s.kind.type === "dir" || s.kind.type === "file" ? "files" : "text"]));

/** A fixed list is the argument's own (choice-arg.ts: its help text is made from the same list);
 *  otherwise a description that names a file or directory outside its parentheses ("backup
 *  file", "the broker's data directory", not "session label (default: project directory)") is a
 *  path. */
function valueOf(name: string, def: ArgDef, serve: boolean): Value {
  const choices = choicesOf(def);
  if (choices) return { words: [...choices] };
  if (serve && SETTING_VALUES[name]) return SETTING_VALUES[name];
  return /\b(file|directory)\b/i.test((def.description ?? "").replace(/\([^)]*\)/g, "")) ? "files" : "text";
}

function nodeOf(path: string, cmd: CommandDef, commands: string[]): Node {
  const args = (cmd.args ?? {}) as ArgsDef;
  const options: Option[] = [];
  const positionals: Value[] = [];
  for (const [name, def] of Object.entries(args)) {
    if (def.type === "positional") {
      const value = path === "help" ? { words: commands } : valueOf(name, def, false);
      // Several words of a list (grant bob dm topic): one slot for each word it could still add.
      const slots = takesMany(def) && typeof value === "object" ? value.words.length : 1;
      for (let k = 0; k < slots; k++) positionals.push(value);
    }
    else {
      const aliases = [(def as { alias?: string | string[] }).alias ?? []].flat().map((a) => `-${a}`);
      options.push({ names: [`--${name}`, ...aliases], value: def.type === "boolean" ? null : valueOf(name, def, path === "serve") });
    }
  }
  const subs = Object.keys(cmd.subCommands ?? {});
  return { path, options: path ? [...options, HELP] : ROOT_OPTIONS, positionals: subs.length ? [{ words: subs }] : positionals };
}

/** Every command path, the root first, each before its sub-commands. */
export function completionTree(root: CommandDef): Node[] {
  const top = root.subCommands as Record<string, CommandDef>;
  const commands = Object.keys(top);
  const nodes = [nodeOf("", root, commands)];
  for (const [name, cmd] of Object.entries(top)) {
    nodes.push(nodeOf(name, cmd, commands));
    for (const [sub, subCmd] of Object.entries((cmd.subCommands ?? {}) as Record<string, CommandDef>)) nodes.push(nodeOf(`${name} ${sub}`, subCmd, commands));
  }
  return nodes;
}
