// claudemesh serve: load config (flags > env > file > defaults), claim the data directory (its
// lock, and claudemesh.pid naming us), open the store, print the start banner, run the broker
// until SIGTERM/SIGINT, then drain, release the PID file and exit 0.
import { parseArgv, type ParsedArgv } from "../../config/argv.ts";
import { ConfigError, ignoredFileValues, ignoredFileValueText, processEnv, resolveBrokerConfig, type BrokerConfig } from "../../config/load.ts";
import { SETTINGS, flagName } from "../../config/spec.ts";
import { jsonLog } from "../../log/log.ts";
import { unknownEnv, unknownEnvText } from "../../config/env-names.ts";
import { VERSION } from "../../version.ts";
import { serveArgs } from "../args.ts";
import { dataDirCommand } from "../../config/command-line.ts";
import { helpFix } from "../output.ts";
import { typedCommand } from "../claude-code/launcher.ts";
import { fail, listenProblem, rootProblem, storageReason } from "../serve-problems.ts";

function flagsFrom(args: ParsedArgv): Record<string, unknown> {
  return Object.fromEntries(SETTINGS.map((s) => [s.key, args[flagName(s.key)]]));
}

/** Runs `read`; a ConfigError (a bad flag or setting) becomes one line on stderr (and its fix, or
 *  with `seeHelp` serve's --help, on the next, like every error's fix) and exit 2, which the
 *  systemd unit does not restart. */
function orExit2<T>(read: () => T, seeHelp = false): T {
  try {
    return read();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const fix = err.fix ?? (seeHelp ? helpFix("serve") : null);
    process.stderr.write(`claudemesh serve: ${err.message}${seeHelp ? "." : ""}\n${fix ? `  fix: ${fix}\n` : ""}`);
    process.exit(2);
  }
}

const WILDCARD = new Set(["0.0.0.0", "::"]);

/** Printed to stderr after the JSON "broker listening" line. The long form (first start on a data
 *  directory) says how to begin and shows the operator token, which exists nowhere else in clear.
 *  The dashboard, API docs and websocket lines give the address people and clients use (publicUrl
 *  when set); the health line the one the broker listens on, which a local supervisor probes.
 *  `cli` is how the reader runs claudemesh (`bun run src/main.ts` from a checkout). */
export function banner(config: BrokerConfig, url: string, firstRunToken: string | null, cli = "claudemesh"): string {
  const outside = config.publicUrl ? config.publicUrl.replace(/\/+$/, "") : url;
  const head = [
    `claudemesh ${VERSION} is serving ${url}${config.publicUrl ? ` (public URL ${outside})` : ""}`,
    `  data dir   ${config.dataDir}`,
    `  dashboard  ${outside}/`,
    `  API docs   ${outside}/docs`,
  ];
  if (!firstRunToken) return head.join("\n");
  // Clients need an address they can reach: 0.0.0.0 is not one.
  const clientUrl = config.publicUrl || (WILDCARD.has(config.host) ? `http://<this machine's address>:${new URL(url).port}` : url);
  return [
    ...head,
    `  websocket  ${outside.replace(/^http/, "ws")}/ws`,
    `  health     ${url}/health/ready`,
    "",
    "First start on this data directory. Create the first mesh (on the machine you work on):",
    `  ${cli} new my-team --broker ${clientUrl}`,
    `then \`${cli} invite\` for teammates and \`${cli} install\` to connect Claude Code.`,
    ...(config.publicUrl || !WILDCARD.has(config.host) ? [] : ["Set --public-url (or CLAUDEMESH_PUBLIC_URL) to the address clients use."]),
    "",
    `Operator token for the dashboard (shown once; keep it; \`${dataDirCommand(["admin", "token"], config.dataDir, cli)}\` issues a new one):`,
    `  ${firstRunToken}`,
  ].join("\n");
}

/** sysexits.h EX_IOERR: the broker stopped because its database could not be flushed to disk. */
const EXIT_STORAGE_FAILED = 74;

export async function run(_parsed: unknown, rawArgs: string[]): Promise<void> {
  // citty lets unknown flags through as stray keys: serve reads its own argv against serveArgs.
  const args = orExit2(() => parseArgv(rawArgs, serveArgs), true);
  const resolved = () => orExit2(() => resolveBrokerConfig({ flags: flagsFrom(args) as never, env: processEnv(), configFile: args.config as string | undefined }));
  if (args.json && !args.check) orExit2(() => {
    throw new ConfigError("--json goes with --check; serve itself logs JSON lines on stderr");
  });
  // A check is one short job: a signal ends it at once, as it does any command.
  if (args.check) return (await import("./serve-check.ts")).check(resolved(), Boolean(args.json));
  // Signal handlers before anything slow (the config file, the broker's modules, the store): Bun
  // installs one only when it is registered, and until then SIGTERM kills with 143. A signal that
  // comes before the broker runs is kept and honoured as soon as there is something to stop.
  let early: string | null = null;
  let onSignal = (signal: string) => void (early ??= signal);
  process.once("SIGTERM", (s: string) => onSignal(s)).once("SIGINT", (s: string) => onSignal(s));
  // A closed terminal, or a log tool that sends SIGHUP to "reopen logs", must not end the broker
  // mid-flight (by default it exits 129 without a drain): it has no file to reopen.
  process.on("SIGHUP", () => {});
  const { config, origins } = resolved();
  const log = jsonLog(config.logLevel);
  for (const u of unknownEnv(processEnv())) log.warn(unknownEnvText(u), { name: u.name, didYouMean: u.meant });
  for (const i of ignoredFileValues(origins)) log.warn(ignoredFileValueText(i), i);
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
  // As root on the broker user's directory: files made now would be root's (serve-problems.ts).
  const asRoot = rootProblem(config.dataDir);
  if (asRoot) fail(...asRoot);
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
