// What `serve`, `serve --check` and the CLI warn of before they act, since nothing else would say
// it: a CLAUDEMESH_* variable nothing reads (a typo leaves a default in place), and a config
// file's value that a flag or variable replaced. Each caller prints the lines its own way.
import { unknownEnv, unknownEnvText } from "./env-names.ts";
import { ignoredFileValues, ignoredFileValueText, type ResolvedConfig } from "./load.ts";
import type { SettingKey } from "./spec.ts";

/** One warning: its line (without a final period) and the fields serve's JSON log adds. */
export type ConfigWarning = { text: string; fields: Record<string, unknown> };

/** The unknown CLAUDEMESH_* variables of `env` (none looked for when null), then the config-file
 *  values `resolved` replaced (none when omitted), only those of `keys` when given. */
export function configWarnings(env: Record<string, string | undefined> | null, resolved?: ResolvedConfig, keys?: readonly SettingKey[]): ConfigWarning[] {
  return [
    ...(env ? unknownEnv(env).map((u) => ({ text: unknownEnvText(u), fields: { name: u.name, didYouMean: u.meant } })) : []),
    ...(resolved ? ignoredFileValues(resolved).filter((i) => !keys || keys.includes(i.key)).map((i) => ({ text: ignoredFileValueText(i), fields: i })) : []),
  ];
}
