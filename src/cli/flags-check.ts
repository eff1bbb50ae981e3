// Every command refuses options it does not declare. citty ignores them, so a typo changed the
// meaning silently: `claudemesh send bob hi --prioriy now` sent at the default priority, and
// `send carol hi -p now` sent "hi now". Short options are declared as citty aliases (`-p` for
// --priority); a group of boolean ones (`-fa`) works as with getopt. A lone "-" is a word (stdin),
// words after `--` are never options, and a `string` option's value is skipped, whatever it looks
// like. A switch (a boolean option) takes no value but `=true` or `=false`: citty reads any other
// (`--yes=no`, `--yes=0`) as on, and `leave team --yes=no` deleted the keys. A short option never
// takes `=`: citty reads `-p=now` as the value "=now". (`serve` reads its own argv more strictly
// still: src/config/argv.ts.)
import type { ArgDef, ArgsDef } from "citty";
import { closest } from "../did-you-mean.ts";

/** citty's usage errors are Errors named "CLIError"; root.ts prints them and exits 2. `word` is
 *  the refused word, for root.ts's hint about text that starts with "-". */
export class FlagError extends Error {
  override readonly name = "CLIError";
  constructor(
    message: string,
    readonly word: string,
    /** False when the word is an option given wrongly (`--yes=no`), never text meant for "--". */
    readonly mayBeText = true,
  ) {
    super(message);
  }
}

/** The only values a switch takes after "=", as citty reads them. */
const SWITCH_VALUES = ["true", "false"];

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

/** --name[=value]: null when not declared, or a switch given a value it does not take
 *  (refuseStrayWords says which); else whether the next word is its value. */
function longTakesValue(word: string, args: ArgsDef): boolean | null {
  const eq = word.indexOf("=");
  const name = (eq < 0 ? word : word.slice(0, eq)).slice(2);
  const negated = name.startsWith("no-") && args[name.slice(3)]?.type === "boolean";
  const def = args[negated ? name.slice(3) : name];
  if (!def || def.type === "positional") return null;
  if (def.type === "boolean" && eq >= 0 && (negated || !SWITCH_VALUES.includes(word.slice(eq + 1)))) return null;
  return def.type === "string" && eq < 0;
}

/** -x, -xVALUE (x a string option), or -xyz (all boolean): null when a letter is not declared or
 *  an "=" follows a letter (badShort). */
function shortTakesValue(word: string, byShort: Map<string, ArgDef>): boolean | null {
  if (badShort(word, byShort)) return null;
  // The first string option takes the rest of the word as its value, or the next word at the end.
  const j = [...word.slice(1)].findIndex((c) => byShort.get(c)?.type === "string");
  return j === word.length - 2;
}

/** What is wrong with a group of short options: the letter no option has, or the option an "="
 *  follows (`-p=now`, `-y=no`); null when it is fine. A string option's value, the rest of the
 *  word, is not read as letters. */
function badShort(word: string, byShort: Map<string, ArgDef>): { letter: string; def: ArgDef | null } | null {
  for (let j = 1; j < word.length; j++) {
    const def = byShort.get(word[j]!);
    if (!def) return { letter: word[j]!, def: null };
    if (word[j + 1] === "=") return { letter: word[j]!, def };
    if (def.type === "string") return null;
  }
  return null;
}

/** Throws a usage error (FlagError) for the first word in `rawArgs` (a command's words) that looks
 *  like an option this command does not declare, naming the closest declared one, or is a declared
 *  one given a value wrongly (`--yes=no`, `-p=now`); and, given the
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
  const switchGiven = (option: string) => new FlagError(`${option} is a switch and takes no value ("${word}"): give ${option} alone, or leave it out`, word, false);
  if (word.startsWith("--")) {
    const name = word.split("=")[0]!.slice(2);
    if (args[name]?.type === "boolean" || (name.startsWith("no-") && args[name.slice(3)]?.type === "boolean")) throw switchGiven(`--${name}`);
    const near = closest(name, long);
    throw new FlagError(`Unknown option --${name}${near ? ` (did you mean --${near}?)` : ""}`, word);
  }
  const byShort = new Map(long.flatMap((k) => aliasesOf(args[k]!).map((a) => [a, args[k]!] as const)));
  const bad = badShort(word, byShort)!;
  const longName = long.find((k) => args[k] === bad.def);
  if (bad.def?.type === "boolean") throw switchGiven(`-${bad.letter}`);
  if (bad.def) {
    const value = word.slice(word.indexOf("=") + 1);
    throw new FlagError(`-${bad.letter} takes its value after a space, not after "=" ("${word}"): give -${bad.letter} ${value || "<value>"}, or --${longName}=${value || "<value>"}`, word, false);
  }
  const shorts = long.flatMap((k) => aliasesOf(args[k]!).map((a) => `-${a} (--${k})`));
  // In a group (`-aj`) the letter no option has is named, not the group's first.
  const where = word.length > 2 ? ` (in ${word})` : "";
  throw new FlagError(`Unknown option -${bad.letter}${where}${shorts.length ? `; this command's short options are ${shorts.join(", ")}` : "; this command has no short options"}`, word);
}
