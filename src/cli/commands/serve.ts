// claudemesh serve: load config (flags > env > file > defaults), open the store, run the broker
// until SIGTERM/SIGINT, then drain and exit 0.
import { ConfigError, loadBrokerConfig, type BrokerConfig } from "../../config/load.ts";
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

export async function run(args: Record<string, unknown>): Promise<void> {
  let config: BrokerConfig;
  try {
    config = loadBrokerConfig({ flags: flagsFrom(args) as never, env: process.env, configFile: (args.config as string) || undefined });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`claudemesh serve: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = jsonLog(config.logLevel);
  const { openSqliteStore } = await import("../../store/sqlite/store.ts");
  let store;
  try {
    store = await openSqliteStore({ dataDir: config.dataDir, synchronous: config.synchronous });
  } catch (err) {
    process.stderr.write(`claudemesh serve: cannot open the database in ${config.dataDir}: ${(err as Error).message}\n`);
    process.exit(1);
  }
  if (args.check) {
    const h = await store.health();
    store.close();
    process.stdout.write(`configuration ok; database ${h.writable ? "writable" : "NOT writable"} at schema version ${h.schemaVersion}\n`);
    process.exit(h.writable ? 0 : 1);
  }
  const { createBroker } = await import("../../broker/server.ts");
  const broker = await createBroker({ config, store, log });
  process.stderr.write(banner(config, broker.url) + "\n");
  const shutdown = async (signal: string) => {
    log.info("shutting down", { signal });
    await broker.stop();
    process.exit(0);
  };
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  process.once("SIGINT", () => void shutdown("SIGINT"));
}
