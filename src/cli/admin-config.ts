// The broker's config for the `admin` commands, which work on a broker's data directory from the
// outside: located as `serve` locates it (--data-dir > CLAUDEMESH_DATA_DIR > config file (--config
// or CLAUDEMESH_CONFIG) > default).
import { ConfigError, defaultDataDir, loadBrokerConfig, processEnv, type BrokerConfig } from "../config/load.ts";
import { UsageError } from "./output.ts";
import { shellCommand } from "./shell-words.ts";
import { resolve } from "node:path";

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

/** A claudemesh command line (`words` after `cli`) to print for the reader to run on the broker
 *  whose data directory is `dataDir`: absolute, with --data-dir unless that is the default one (no
 *  flag, variable or config file), so that pasted later, in another shell or directory, it acts on
 *  the same broker. `cli` is how the reader runs claudemesh. */
export function dataDirCommand(words: readonly string[], dataDir: string, cli = "claudemesh"): string {
  const defaultDir = resolve(defaultDataDir(processEnv()));
  const dir = resolve(dataDir);
  return `${cli} ${shellCommand([...words, ...(dir === defaultDir ? [] : ["--data-dir", dir])])}`;
}
