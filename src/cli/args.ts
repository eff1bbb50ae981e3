// Arguments shared by several commands, typed once.
import type { ArgsDef } from "citty";
import { SETTINGS, flagName } from "../config/spec.ts";

/** Every broker setting as a `serve` flag (kebab-case), generated from the settings table. */
export const serveArgs: ArgsDef = Object.fromEntries([
  ...SETTINGS.map((s) => [flagName(s.key), { type: "string", description: `${s.doc} [default: ${Array.isArray(s.default) ? s.default.join(",") || "none" : String(s.default) || "see docs"}]` }]),
  ["config", { type: "string", description: "JSON config file (keys as in docs/operations.md)." }],
  ["check", { type: "boolean", description: "Validate the configuration and the data directory, print the result, and exit." }],
]);
