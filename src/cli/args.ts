// Arguments shared by several commands, typed once.
import type { ArgDef, ArgsDef } from "citty";
import { SETTINGS, defaultText, flagName, type Setting } from "../config/spec.ts";
import type { ChoiceArg } from "./choice-arg.ts";

/** A setting's flag; an enum's help names its values, and the definition carries them for the
 *  completions (choice-arg.ts), from the settings table that also checks them. */
function settingArg(s: Setting): ArgDef {
  const values = s.kind.type === "enum" ? s.kind.values : null;
  const description = `${s.doc}${values ? ` ${values.join(" | ")}` : ""} [default: ${defaultText(s)}]`;
  return values ? ({ type: "string", description, choices: values } as ChoiceArg) : { type: "string", description };
}

/** Every broker setting as a `serve` flag (kebab-case), generated from the settings table; a
 *  default is written as docs/operations.md writes it (7d, not 604800000). */
export const serveArgs: ArgsDef = Object.fromEntries([
  ...SETTINGS.map((s) => [flagName(s.key), settingArg(s)]),
  ["config", { type: "string", description: "JSON config file (keys as in docs/operations.md)." }],
  ["check", { type: "boolean", description: "Validate the configuration and the data directory, print each setting with where it came from and the result, and exit." }],
  ["json", { type: "boolean", description: "With --check: print the result as JSON." }],
]);
