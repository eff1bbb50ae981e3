// The broker's config for the `admin` commands, which work on a broker's data directory from the
// outside: read by serve's own code (resolveBrokerConfig), so located as `serve` locates it
// (--data-dir > CLAUDEMESH_DATA_DIR > config file (--config or CLAUDEMESH_CONFIG) > default), with
// serve's warning when a flag or variable replaces the config file's dataDir.
import { resolve } from "node:path";
import { ConfigError, ignoredFileValues, ignoredFileValueText, processEnv, resolveBrokerConfig, type ResolvedConfig } from "../config/load.ts";
import { UsageError, type Output } from "./output.ts";

export type AdminArgs = { "data-dir"?: string; config?: string };

/** The broker config `serve` would run with, its data directory absolute (every message names it
 *  so). Warns on stderr, but with --json, when a flag or variable replaced the config file's
 *  dataDir: the only setting an admin command uses. A bad flag, setting or config file is a
 *  UsageError (exit 2) carrying the config's own fix. */
export function adminBroker(args: AdminArgs, out: Output): ResolvedConfig {
  let resolved: ResolvedConfig;
  try {
    resolved = resolveBrokerConfig({ flags: { dataDir: args["data-dir"] }, env: processEnv(), configFile: args.config });
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message, { fix: err.fix ?? undefined, cause: err });
    throw err;
  }
  // Only of the data directory: a file's port replaced by CLAUDEMESH_PORT is nothing an admin command uses.
  if (!out.json) for (const i of ignoredFileValues(resolved)) if (i.key === "dataDir") out.warn(`${ignoredFileValueText(i)}.`);
  return { ...resolved, config: Object.freeze({ ...resolved.config, dataDir: resolve(resolved.config.dataDir) }) };
}
