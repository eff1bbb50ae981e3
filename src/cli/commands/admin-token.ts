// claudemesh admin token: a new operator token for the dashboard's broker-wide views, written to
// the data directory's database (the old token and its dashboard sessions stop working). Works
// while the broker runs. The token is printed once; only its SHA-256 is stored.
import { ConfigError, loadBrokerConfig, processEnv } from "../../config/load.ts";
import { reportError, UsageError } from "../output.ts";

export async function run(args: { "data-dir"?: string; config?: string; json?: boolean }): Promise<void> {
  const json = Boolean(args.json);
  try {
    const config = loadBrokerConfig({ flags: { dataDir: args["data-dir"] } as never, env: processEnv(), configFile: args.config });
    const { rotateOperatorToken } = await import("../../broker/server.ts");
    const token = await rotateOperatorToken(config);
    if (json) process.stdout.write(JSON.stringify({ token, dataDir: config.dataDir }, null, 2) + "\n");
    else
      process.stdout.write(
        [token, "", `New operator token for the broker in ${config.dataDir}; the previous one no longer works.`, "Paste it into the dashboard's Operator tab. It is shown only now."].join("\n") + "\n",
      );
    process.exit(0);
  } catch (err) {
    process.exit(reportError(err instanceof ConfigError ? new UsageError(err.message, { fix: err.fix ?? undefined }) : err, json));
  }
}
