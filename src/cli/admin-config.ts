// The broker's config for the `admin` commands, which work on a broker's data directory from the
// outside: read by serve's own code (resolveBrokerConfig), so located as `serve` locates it
// (--data-dir > CLAUDEMESH_DATA_DIR > config file (--config or CLAUDEMESH_CONFIG) > default), with
// the same warning when a flag or variable replaces the config file's value.
import { resolve } from "node:path";
import { ConfigError, ignoredFileValues, ignoredFileValueText, processEnv, resolveBrokerConfig, type BrokerConfig, type Origin } from "../config/load.ts";
import { SETTINGS, flagName, valueText, type SettingKey } from "../config/spec.ts";
import { shellCommand } from "../config/command-line.ts";
import { otherUser, sudoUser } from "../local-file/owner.ts";
import { UsageError, type Output } from "./output.ts";

export type AdminArgs = { "data-dir"?: string; config?: string };

/** The broker an admin command works on: its config (dataDir absolute), where each setting came
 *  from, and the config file read, if any. */
export type AdminBroker = { config: BrokerConfig; origins: Readonly<Record<SettingKey, Origin>>; configFile: string | null };

/** The broker config `serve` would run with, its data directory absolute (every message names it
 *  so). Warns on stderr, but with --json, of each config-file value a flag or variable replaced.
 *  A bad flag, setting or config file is a UsageError (exit 2) carrying the config's own fix. */
export function adminBroker(args: AdminArgs, out: Output): AdminBroker {
  let resolved: ReturnType<typeof resolveBrokerConfig>;
  try {
    resolved = resolveBrokerConfig({ flags: { dataDir: args["data-dir"] }, env: processEnv(), configFile: args.config });
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message, { fix: err.fix ?? undefined, cause: err });
    throw err;
  }
  if (!out.json) for (const i of ignoredFileValues(resolved.origins)) out.warn(`${ignoredFileValueText(i)}.`);
  return { ...resolved, config: Object.freeze({ ...resolved.config, dataDir: resolve(resolved.config.dataDir) }) };
}

/** The command line that starts this broker again, for the reader to paste: `claudemesh serve`
 *  with --config for the config file (absolute) and a flag for each setting a flag or variable
 *  gave, so that it runs the same broker from another shell or under sudo (which clears the
 *  environment). Run as root on a data directory of another user (the service's), it runs as that
 *  user, `sudo -u <owner> claudemesh serve … --data-dir <dir>`, since serve refuses to run there as
 *  root and that user's default data directory is another one. */
export function serveCommand(b: AdminBroker): string {
  const owner = otherUser(b.config.dataDir);
  const words = ["serve", ...(b.configFile ? ["--config", resolve(b.configFile)] : [])];
  for (const s of SETTINGS) {
    const from = b.origins[s.key].kind;
    const given = from === "flag" || from === "env" || (s.key === "dataDir" && from === "default" && owner !== null);
    if (given) words.push(`--${flagName(s.key)}`, valueText(s, b.config[s.key]));
  }
  return `${owner ? `sudo -u ${sudoUser(owner)} ` : ""}claudemesh ${shellCommand(words)}`;
}
