// claudemesh serve: load config (flags > env > file > defaults), claim the data directory (its
// lock, and claudemesh.pid naming us), open the store, print the start banner, run the broker
// until SIGTERM/SIGINT, then drain, release the PID file and exit 0.
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { parseArgv, type ParsedArgv } from "../../config/argv.ts";
import { ConfigError, loadBrokerConfig, processEnv, type BrokerConfig } from "../../config/load.ts";
import { SETTINGS, flagName } from "../../config/spec.ts";
import { jsonLog } from "../../log/log.ts";
import { VERSION } from "../../version.ts";
import { serveArgs } from "../args.ts";
import { typedCommand } from "../claude-code/launcher.ts";

function flagsFrom(args: ParsedArgv): Record<string, unknown> {
  return Object.fromEntries(SETTINGS.map((s) => [s.key, args[flagName(s.key)]]));
}

/** Runs `read`; a ConfigError (a bad flag or setting) becomes one line on stderr and exit 2, which
 *  the systemd unit does not restart. */
function orExit2<T>(read: () => T, hint = ""): T {
  try {
    return read();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`claudemesh serve: ${err.message}${hint}\n${err.fix ? `  fix: ${err.fix}\n` : ""}`);
    process.exit(2);
  }
}

const WILDCARD = new Set(["0.0.0.0", "::"]);

/** Printed to stderr after the JSON "broker listening" line. The long form (first start on a data
 *  directory) says how to begin and shows the operator token, which exists nowhere else in clear.
 *  `cli` is how the reader runs claudemesh (`bun run src/main.ts` from a checkout). */
export function banner(config: BrokerConfig, url: string, firstRunToken: string | null, cli = "claudemesh"): string {
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
    `  ${cli} new my-team --broker ${clientUrl}`,
    `then \`${cli} invite\` for teammates and \`${cli} install\` to connect Claude Code.`,
    ...(config.publicUrl || !WILDCARD.has(config.host) ? [] : ["Set --public-url (or CLAUDEMESH_PUBLIC_URL) to the address clients use."]),
    "",
    `Operator token for the dashboard (shown once; keep it; \`${cli} admin token\` issues a new one):`,
    `  ${firstRunToken}`,
  ].join("\n");
}

function fail(message: string, fix: string | null = null): never {
  process.stderr.write(`claudemesh serve: ${message}\n${fix ? `  fix: ${fix}\n` : ""}`);
  process.exit(1);
}

/** sysexits.h EX_IOERR: the broker stopped because its database could not be flushed to disk. */
const EXIT_STORAGE_FAILED = 74;

export async function run(_parsed: unknown, rawArgs: string[]): Promise<void> {
  // citty lets unknown flags through as stray keys: serve reads its own argv against serveArgs.
  const args = orExit2(() => parseArgv(rawArgs, serveArgs), ". See `claudemesh serve --help`.");
  const configure = () => orExit2(() => loadBrokerConfig({ flags: flagsFrom(args) as never, env: processEnv(), configFile: args.config as string | undefined }));
  // A check is one short job: a signal ends it at once, as it does any command.
  if (args.check) return check(configure());
  // Signal handlers before anything slow (the config file, the broker's modules, the store): Bun
  // installs one only when it is registered, and until then SIGTERM kills with 143. A signal that
  // comes before the broker runs is kept and honoured as soon as there is something to stop.
  let early: string | null = null;
  let onSignal = (signal: string) => void (early ??= signal);
  process.once("SIGTERM", (s: string) => onSignal(s)).once("SIGINT", (s: string) => onSignal(s));
  const config = configure();
  const log = jsonLog(config.logLevel);
  const { startBroker } = await import("../../broker/server.ts");
  const { claimDataDir, describeHolder, releasePidFile } = await import("../../broker/pid-file.ts");
  if (early) {
    log.info("stopped before start", { signal: early });
    process.exit(0);
  }
  // Before the data directory is touched: a start that cannot listen must not leave a new, empty
  // database behind (the broker opens its store before it binds).
  const bind = config.port === 0 ? null : listenProblem(config.host, config.port);
  if (bind) fail(`cannot start: ${bind}`);
  // The lock decides; the PID files only name who holds it.
  let other: ReturnType<typeof claimDataDir>;
  try {
    other = claimDataDir(config.dataDir, "broker");
  } catch (err) {
    fail(...(await storageReason("cannot start", err, config)));
  }
  if (other?.kind === "restore") fail(`${describeHolder(other, config.dataDir)}; start the broker once it has finished.`);
  if (other) fail(`another broker${other.pid > 0 ? ` (PID ${other.pid})` : ""} is serving ${config.dataDir}; two brokers must not share one database.`);
  const broker = await startBroker(config, log).catch(async (err: Error) => {
    releasePidFile(config.dataDir);
    return fail(...(await storageReason("cannot start", err, config)));
  });
  const shutdown = async (signal: string, code = 0) => {
    log.info("shutting down", { signal });
    await broker.stop();
    releasePidFile(config.dataDir);
    process.exit(code);
  };
  onSignal = (signal) => void shutdown(signal);
  process.stderr.write(banner(config, broker.url, broker.firstRunToken, typedCommand()) + "\n");
  // A failed flush to disk: stop and exit EX_IOERR, so that the supervisor restarts the broker
  // on what the disk really holds (Store.fatal, docs/decisions.md "Fail-stop after a failed flush").
  void broker.failed.then(() => shutdown("storage failure", EXIT_STORAGE_FAILED));
  if (early) await shutdown(early);
}

/** A full or failing disk, a database another user owns or that is damaged, a lock file that is a
 *  directory, a data directory that cannot be made, a port taken since the check before the start:
 *  what to do, not a stack trace. `doing` leads the message; the fix, when known, is its own line. */
async function storageReason(doing: string, err: unknown, config: BrokerConfig): Promise<[message: string, fix: string | null]> {
  if ((err as { code?: string })?.code === "EADDRINUSE") return [`${doing}: ${portInUse(config.host, config.port)}`, null];
  const { dataDirFileError, startProblem } = await import("../../broker/pid-file.ts");
  // The file system's errors (and the lock file's) first; startProblem words SQLite's.
  const local = dataDirFileError(err, config.dataDir);
  if (local) return [`${doing}: ${local.message.replace(/^Cannot/, "cannot")}`, local.fix];
  return [`${doing}: ${startProblem(err, config.dataDir) ?? (err as Error)?.message ?? String(err)}`, null];
}

const portInUse = (host: string, port: number) => `port ${port} on ${host} is already in use by another process; stop it, or choose another port with --port`;

/** Why listening on host:port fails now (a test listen, closed at once), as one sentence, or null. */
function listenProblem(host: string, port: number): string | null {
  try {
    Bun.listen({ hostname: host, port, socket: { data() {} } }).stop(true);
    return null;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "EADDRINUSE") return portInUse(host, port);
    return `cannot listen on ${host}:${port}: ${code === "EADDRNOTAVAIL" ? "no interface of this machine has that address" : (err as Error).message}`;
  }
}

/** `serve --check`: the settings are valid (they were loaded), the host resolves, the address and
 *  port can be listened on, and the database opens (and migrates), passes quick_check and is
 *  writable. Exits 0 when so, or when a live broker holds the data
 *  directory (its database is then left alone); 1 otherwise. */
async function check(config: BrokerConfig): Promise<never> {
  const { checkStore } = await import("../../broker/server.ts");
  const { claimDataDir, describeHolder, mayBeHeld, releaseDataDir } = await import("../../broker/pid-file.ts");
  // A hostname that passes the syntax check may still not resolve; the start would then fail.
  if (!isIP(config.host)) await lookup(config.host).catch((err: Error) => fail(`host ${JSON.stringify(config.host)} does not resolve (${(err as { code?: string }).code ?? err.message}); the broker could not listen on it`));
  // The address must be one this machine has, and the port free: `serve` would fail to listen, and
  // a supervisor restart it in a loop. A live broker of this data directory holds the port itself,
  // but only a directory with a lock file can have one: without it, fail before anything is made.
  const bind = listenProblem(config.host, config.port);
  if (bind && !mayBeHeld(config.dataDir)) fail(bind);
  // Opening the store may migrate the database: never under a live broker or a restore, and it
  // holds the data directory meanwhile, so that a `serve` started now waits its turn instead of
  // migrating the same file at the same time.
  let holder: ReturnType<typeof claimDataDir>;
  try {
    holder = claimDataDir(config.dataDir, "broker");
  } catch (err) {
    fail(...(await storageReason(`cannot check ${config.dataDir}`, err, config)));
  }
  if (holder !== null) {
    process.stdout.write(`configuration ok; ${describeHolder(holder, config.dataDir)}, so the database was not opened\n`);
    process.exit(0);
  }
  if (bind) {
    releaseDataDir(config.dataDir, "broker");
    fail(bind);
  }
  const h = await checkStore(config).catch(async (err: Error) => {
    releaseDataDir(config.dataDir, "broker");
    return fail(...(await storageReason(`cannot open the database in ${config.dataDir}`, err, config)));
  });
  releaseDataDir(config.dataDir, "broker");
  if (h.integrity !== "ok") fail(`the database in ${config.dataDir} is damaged (SQLite quick_check: ${h.integrity.replace(/\s+/g, " ").slice(0, 300)}); restore a backup with claudemesh admin restore`);
  process.stdout.write(`configuration ok; database ${h.writable ? "writable" : "NOT writable"} at schema version ${h.schemaVersion}\n`);
  process.exit(h.writable ? 0 : 1);
}
