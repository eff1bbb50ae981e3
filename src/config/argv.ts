// The command-line layer of the broker config, read strictly. citty accepts any option and turns a
// typo into a stray key (`--prot 80` runs on the default port), so `serve` re-reads its own argv
// against the flags it declares: anything else is an error, with the closest known flag suggested.
import { ConfigError } from "./load.ts";
import { nearestName } from "../did-you-mean.ts";

/** A command's declared flags and positionals (structurally citty's ArgsDef, which config may not
 *  import): `string` flags take a value, `boolean` flags none (`--no-x` sets false). */
export type FlagSpec = Readonly<Record<string, { type?: string }>>;

/** Values by declared name, in the form citty would give them. */
export type ParsedArgv = Record<string, string | boolean>;

/** Parses `rawArgs` (the words after the command's name) against `spec`. Guarantees every flag is
 *  declared, given once, spelled as declared (kebab-case), and that each `string` flag has a
 *  non-empty value; no positional beyond the declared ones. Throws ConfigError with a one-line
 *  reason (the caller prints it and exits 2). */
export function parseArgv(rawArgs: readonly string[], spec: FlagSpec): ParsedArgv {
  const out: ParsedArgv = {};
  const positionals = Object.keys(spec).filter((k) => spec[k]!.type === "positional");
  const flags = Object.keys(spec).filter((k) => spec[k]!.type !== "positional");
  let onlyPositionals = false;
  for (let i = 0; i < rawArgs.length; i++) {
    const word = rawArgs[i]!;
    if (onlyPositionals || word === "-" || !word.startsWith("-")) {
      const name = positionals.find((p) => !(p in out));
      if (name === undefined) throw new ConfigError(`unexpected argument ${JSON.stringify(word)}`);
      out[name] = word;
      continue;
    }
    if (word === "--") {
      onlyPositionals = true;
      continue;
    }
    const eq = word.indexOf("=");
    const written = eq < 0 ? word : word.slice(0, eq);
    const inline = eq < 0 ? undefined : word.slice(eq + 1);
    const negated = written.startsWith("--no-") && spec[written.slice(5)]?.type === "boolean";
    const name = negated ? written.slice(5) : written.slice(2);
    const kind = written.startsWith("--") ? spec[name]?.type : undefined;
    if (kind !== "string" && kind !== "boolean") throw new ConfigError(`Unknown option ${written}${suggestion(written, flags)}`);
    if (name in out) throw new ConfigError(`--${name} is given twice`);
    if (kind === "boolean") {
      if (inline !== undefined) throw new ConfigError(`${written} takes no value`);
      out[name] = !negated;
      continue;
    }
    // A missing value would otherwise swallow the next flag (`--data-dir --check`).
    const next = rawArgs[i + 1];
    const value = inline ?? (next === undefined || isDeclaredFlag(next, spec) ? undefined : (i++, next));
    if (value === undefined || value === "") throw new ConfigError(`--${name} needs a value`);
    out[name] = value;
  }
  return out;
}

function isDeclaredFlag(word: string, spec: FlagSpec): boolean {
  const m = /^--(?:no-)?([^=]+)/.exec(word);
  return m !== null && spec[m[1]!] !== undefined && spec[m[1]!]!.type !== "positional";
}

/** " (did you mean --port?)" for a flag within a small edit distance, or the kebab-case spelling
 *  of a camelCase one; "" when nothing is close. */
export function suggestion(written: string, flags: readonly string[]): string {
  const best = nearestName(written.replace(/^-+/, ""), flags);
  return best === null ? "" : ` (did you mean --${best}?)`;
}
