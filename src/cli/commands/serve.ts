// claudemesh serve: load config (flags > env > file > defaults), open the store, run the broker
// until SIGTERM/SIGINT, then drain and exit 0.
import { ConfigError, loadBrokerConfig, processEnv, type BrokerConfig } from "../../config/load.ts";
import { SETTINGS, flagName } from "../../config/spec.ts";
import { jsonLog } from "../../log/log.ts";
import { VERSION } from "../../version.ts";

function flagsFrom(args: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(SETTINGS.map((s) => [s.key, args[flagName(s.key)]]));
}

function banner(config: BrokerConfig, url: string): string {
  return [
    `claudemesh ${VERSION} broker on ${url}`,
    `  data dir   ${config.dataDir}`,
    `  websocket  ${url.replace(/^http/, "ws")}/ws`,
    `  API docs   ${url}/docs`,
    `  health     ${url}/health/ready`,
    `  next       claudemesh new my-mesh --broker ${config.publicUrl || url}`,
  ].join("\n");
}

function fail(message: string): never {
  process.stderr.write(`claudemesh serve: ${message}\n`);
  process.exit(1);
}

export async function run(args: Record<string, unknown>): Promise<void> {
  let config: BrokerConfig;
  try {
    config = loadBrokerConfig({ flags: flagsFrom(args) as never, env: processEnv(), configFile: (args.config as string) || undefined });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`claudemesh serve: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = jsonLog(config.logLevel);
  const { checkStore, startBroker } = await import("../../broker/server.ts");
  if (args.check) {
    const h = await checkStore(config).catch((err: Error) => fail(`cannot open the database in ${config.dataDir}: ${err.message}`));
    process.stdout.write(`configuration ok; database ${h.writable ? "writable" : "NOT writable"} at schema version ${h.schemaVersion}\n`);
    process.exit(h.writable ? 0 : 1);
  }
  const broker = await startBroker(config, log).catch((err: Error) => fail(`cannot start: ${err.message}`));
  process.stderr.write(banner(config, broker.url) + "\n");
  const shutdown = async (signal: string) => {
    log.info("shutting down", { signal });
    await broker.stop();
    process.exit(0);
  };
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  process.once("SIGINT", () => void shutdown("SIGINT"));
}
