// Arguments shared by several commands, typed once.
import type { ArgsDef } from "citty";
import { SETTINGS, defaultText, flagName } from "../config/spec.ts";

/** Every broker setting as a `serve` flag (kebab-case), generated from the settings table; a
 *  default is written as docs/operations.md writes it (7d, not 604800000). */
export const serveArgs: ArgsDef = Object.fromEntries([
  ...SETTINGS.map((s) => [flagName(s.key), { type: "string", description: `${s.doc} [default: ${defaultText(s)}]` }]),
  ["config", { type: "string", description: "JSON config file (keys as in docs/operations.md)." }],
  ["check", { type: "boolean", description: "Validate the configuration and the data directory, print each setting with where it came from and the result, and exit." }],
  ["json", { type: "boolean", description: "With --check: print the result as JSON." }],
]);
