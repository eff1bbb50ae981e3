// claudemesh serve: load config (flags > env > file > defaults), claim the data directory (its
// lock, and claudemesh.pid naming us), open the store, print the start banner, run the broker
// until SIGTERM/SIGINT, then drain, release the PID file and exit 0.
import { ConfigError, loadBrokerConfig, processEnv, type BrokerConfig } from "../../config/load.ts";
import { SETTINGS, flagName } from "../../config/spec.ts";
import { jsonLog } from "../../log/log.ts";
import { VERSION } from "../../version.ts";

function flagsFrom(args: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(SETTINGS.map((s) => [s.key, args[flagName(s.key)]]));
}

const WILDCARD = new Set(["0.0.0.0", "::", "[::]"]);

/** Printed to stderr after the JSON "broker listening" line. The long form (first start on a data
 *  directory) says how to begin and shows the operator token, which exists nowhere else in clear. */
export function banner(config: BrokerConfig, url: string, firstRunToken: string | null): string {
  const head = [
    `claudemesh ${VERSION} is serving ${url}`,
    `  data dir   ${config.dataDir}`,
    `  dashboard  ${url}/`,
    `  API docs   ${url}/docs`,
  ];
  if (!firstRunToken) return head.join("\n");
  // Clients need an address they can reach: 0.0.0.0 is not one.
  const clientUrl = config.publicUrl || (WILDCARD.has(config.host) ? `http://<this machine's address>:${new URL(url).port}` : url);
  return [
    ...head,
    `  websocket  ${url.replace(/^http/, "ws")}/ws`,
    `  health     ${url}/health/ready`,
    "",
    "First start on this data directory. Create the first mesh (on the machine you work on):",
    `  claudemesh new my-team --broker ${clientUrl}`,
    "then `claudemesh invite` for teammates and `claudemesh install` to connect Claude Code.",
    ...(config.publicUrl || !WILDCARD.has(config.host) ? [] : ["Set --public-url (or CLAUDEMESH_PUBLIC_URL) to the address clients use."]),
    "",
    "Operator token for the dashboard (shown once; keep it; `claudemesh admin token` issues a new one):",
    `  ${firstRunToken}`,
  ].join("\n");
}

function fail(message: string): never {
  process.stderr.write(`claudemesh serve: ${message}\n`);
  process.exit(1);
}

/** sysexits.h EX_IOERR: the broker stopped because its database could not be flushed to disk. */
const EXIT_STORAGE_FAILED = 74;

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
  const { claimPidFile, dataDirHolder, describeHolder, releasePidFile, storageProblem } = await import("../../broker/pid-file.ts");
  // A full or failing disk, a lock file that is a directory: say what to do, not a stack trace.
  const reason = (err: unknown) => storageProblem(err, config.dataDir) ?? (err as Error)?.message ?? String(err);
  if (args.check) {
    // Opening the store may migrate the database: never do that under a live broker or a restore.
    let holder: ReturnType<typeof dataDirHolder>;
    try {
      holder = dataDirHolder(config.dataDir);
    } catch (err) {
      fail(`cannot check ${config.dataDir}: ${reason(err)}`);
    }
    if (holder !== null) {
      process.stdout.write(`configuration ok; ${describeHolder(holder, config.dataDir)}, so the database was not opened\n`);
      process.exit(0);
    }
    const h = await checkStore(config).catch((err: Error) => fail(`cannot open the database in ${config.dataDir}: ${reason(err)}`));
    process.stdout.write(`configuration ok; database ${h.writable ? "writable" : "NOT writable"} at schema version ${h.schemaVersion}\n`);
    process.exit(h.writable ? 0 : 1);
  }
  // The lock decides; the PID files only name who holds it.
  let other: ReturnType<typeof claimPidFile>;
  try {
    other = claimPidFile(config.dataDir);
  } catch (err) {
    fail(`cannot start: ${reason(err)}`);
  }
  if (other?.kind === "restore") fail(`${describeHolder(other, config.dataDir)}; start the broker once it has finished.`);
  if (other) fail(`another broker${other.pid > 0 ? ` (PID ${other.pid})` : ""} is serving ${config.dataDir}; two brokers must not share one database.`);
  // Handlers first: Bun installs a signal handler only when it is registered, and a supervisor
  // (or a test) may signal as soon as it sees the "broker listening" line.
  let broker: Awaited<ReturnType<typeof startBroker>> | null = null;
  let pending: string | null = null;
  const shutdown = async (signal: string, code = 0) => {
    if (!broker) return void (pending = signal);
    log.info("shutting down", { signal });
    await broker.stop();
    releasePidFile(config.dataDir);
    process.exit(code);
  };
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  process.once("SIGINT", () => void shutdown("SIGINT"));
  broker = await startBroker(config, log).catch((err: Error) => {
    releasePidFile(config.dataDir);
    return fail(`cannot start: ${reason(err)}`);
  });
  process.stderr.write(banner(config, broker.url, broker.firstRunToken) + "\n");
  // A failed flush to disk: stop and exit EX_IOERR, so that the supervisor restarts the broker
  // on what the disk really holds (Store.fatal, docs/decisions.md "Fail-stop after a failed flush").
  void broker.failed.then(() => shutdown("storage failure", EXIT_STORAGE_FAILED));
  if (pending) await shutdown(pending);
}
