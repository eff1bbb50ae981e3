// Every command refuses options it does not declare. citty ignores them, so a typo changed the
// meaning silently: `claudemesh send bob hi --prioriy now` sent at the default priority. Words after
// `--` are never options; a `string` option's value is skipped, whatever it looks like. (`serve`
// reads its own argv more strictly still: src/config/argv.ts.)
import type { ArgsDef } from "citty";
import { suggestion } from "../config/argv.ts";

/** citty's usage errors are Errors named "CLIError"; root.ts prints them and exits 2. */
class FlagError extends Error {
  override readonly name = "CLIError";
}

/** Throws a usage error for the first `--option` in `rawArgs` (a command's words) that `args` does
 *  not declare, naming the closest declared one. */
export function refuseUnknownFlags(rawArgs: readonly string[], args: ArgsDef): void {
  const flags = Object.keys(args).filter((k) => args[k]!.type !== "positional");
  for (let i = 0; i < rawArgs.length; i++) {
    const word = rawArgs[i]!;
    if (word === "--") return;
    if (!word.startsWith("--")) continue;
    const eq = word.indexOf("=");
    const name = (eq < 0 ? word : word.slice(0, eq)).slice(2);
    const negated = name.startsWith("no-") && args[name.slice(3)]?.type === "boolean";
    const def = args[negated ? name.slice(3) : name];
    if (!def || def.type === "positional") throw new FlagError(`Unknown option --${name}${suggestion(`--${name}`, flags)}`);
    if (def.type === "string" && eq < 0) i++; // its value, even one that starts with "-"
  }
}
