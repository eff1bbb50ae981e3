// Every command refuses options it does not declare. citty ignores them, so a typo changed the
// meaning silently: `claudemesh send bob hi --prioriy now` sent at the default priority, and
// `send carol hi -p now` sent "hi now". Short options are declared as citty aliases (`-p` for
// --priority); a group of boolean ones (`-fa`) works as with getopt. A lone "-" is a word (stdin),
// words after `--` are never options, and a `string` option's value is skipped, whatever it looks
// like. (`serve` reads its own argv more strictly still: src/config/argv.ts.)
import type { ArgDef, ArgsDef } from "citty";
import { closest } from "../did-you-mean.ts";

/** citty's usage errors are Errors named "CLIError"; root.ts prints them and exits 2. `word` is
 *  the refused word, for root.ts's hint about text that starts with "-". */
export class FlagError extends Error {
  override readonly name = "CLIError";
  constructor(
    message: string,
    readonly word: string,
  ) {
    super(message);
  }
}

const aliasesOf = (def: ArgDef) => ("alias" in def && def.alias ? [def.alias].flat() : []);

/** A command's words sorted: its options (each with its value) and its positional words, in order.
 *  `unknown` is the first word that looks like an option and is not one (null when none). */
export function splitWords(rawArgs: readonly string[], args: ArgsDef): { options: string[]; positionals: string[]; unknown: { word: string; index: number } | null } {
  const byShort = new Map<string, ArgDef>();
  for (const def of Object.values(args)) for (const a of aliasesOf(def)) byShort.set(a, def);
  const options: string[] = [];
  const positionals: string[] = [];
  let unknown: { word: string; index: number } | null = null;
  for (let i = 0; i < rawArgs.length; i++) {
    const word = rawArgs[i]!;
    if (word === "--") {
      positionals.push(...rawArgs.slice(i + 1));
      break;
    }
    if (!word.startsWith("-") || word === "-") {
      positionals.push(word);
      continue;
    }
    const takesValue = word.startsWith("--") ? longTakesValue(word, args) : shortTakesValue(word, byShort);
    if (takesValue === null) {
      unknown ??= { word, index: i };
      positionals.push(word);
      continue;
    }
    options.push(word);
    if (takesValue && i + 1 < rawArgs.length) options.push(rawArgs[++i]!); // its value, even one that starts with "-"
  }
  return { options, positionals, unknown };
}

/** --name[=value]: null when not declared; else whether the next word is its value. */
function longTakesValue(word: string, args: ArgsDef): boolean | null {
  const eq = word.indexOf("=");
  const name = (eq < 0 ? word : word.slice(0, eq)).slice(2);
  const negated = name.startsWith("no-") && args[name.slice(3)]?.type === "boolean";
  const def = args[negated ? name.slice(3) : name];
  if (!def || def.type === "positional") return null;
  return def.type === "string" && eq < 0;
}

/** -x, -xVALUE (x a string option), or -xyz (all boolean): null when a letter is not declared. */
function shortTakesValue(word: string, byShort: Map<string, ArgDef>): boolean | null {
  for (let j = 1; j < word.length; j++) {
    const def = byShort.get(word[j]!);
    if (!def) return null;
    if (def.type === "string") return j === word.length - 1; // the rest of the word is its value
  }
  return false;
}

/** Throws a usage error (FlagError) for the first word in `rawArgs` (a command's words) that looks
 *  like an option this command does not declare, naming the closest declared one; and, given the
 *  `commandPath` of a command whose last positional is not free text, for a word beyond the
 *  positionals it declares (citty drops those: `rekey foo` rotated the keys). */
export function refuseStrayWords(rawArgs: readonly string[], args: ArgsDef, commandPath: string | null = null): void {
  const { unknown, positionals } = splitWords(rawArgs, args);
  const declared = Object.values(args).filter((d) => d.type === "positional").length;
  if (!unknown && commandPath !== null && positionals.length > declared) {
    const extra = positionals[declared]!;
    throw new FlagError(`Unexpected argument "${extra}": claudemesh ${commandPath} takes ${declared === 0 ? "no words" : `${declared} word${declared === 1 ? "" : "s"}`}`, extra);
  }
  if (!unknown) return;
  const { word } = unknown;
  const long = Object.keys(args).filter((k) => args[k]!.type !== "positional");
  if (word.startsWith("--")) {
    const name = word.split("=")[0]!.slice(2);
    const near = closest(name, long);
    throw new FlagError(`Unknown option --${name}${near ? ` (did you mean --${near}?)` : ""}`, word);
  }
  const shorts = long.flatMap((k) => aliasesOf(args[k]!).map((a) => `-${a} (--${k})`));
  throw new FlagError(`Unknown option ${word.slice(0, 2)}${shorts.length ? `; this command's short options are ${shorts.join(", ")}` : "; this command has no short options"}`, word);
}
