// The broker's config for the `admin` commands, which work on a broker's data directory from the
// outside: located as `serve` locates it (--data-dir > CLAUDEMESH_DATA_DIR > config file (--config
// or CLAUDEMESH_CONFIG) > default).
import { ConfigError, loadBrokerConfig, processEnv, type BrokerConfig } from "../config/load.ts";
import { UsageError } from "./output.ts";

export type AdminArgs = { "data-dir"?: string; config?: string };

/** The broker config `serve` would run with. A bad flag, setting or config file is a UsageError
 *  (exit 2) carrying the config's own fix. */
export function adminBrokerConfig(args: AdminArgs): BrokerConfig {
  try {
    return loadBrokerConfig({ flags: { dataDir: args["data-dir"] }, env: processEnv(), configFile: args.config });
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message, { fix: err.fix ?? undefined, cause: err });
    throw err;
  }
}
