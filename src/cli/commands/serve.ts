// claudemesh serve: load config (flags > env > file > defaults), claim the data directory (its
// lock, and claudemesh.pid naming us), open the store, print the start banner, run the broker
// until SIGTERM/SIGINT, then drain, release the PID file and exit 0. A refusal exits with a code
// that says whether a restart can help (serve-problems.ts ServeExit, docs/operations.md "Exit codes").
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgv, type ParsedArgv } from "../../config/argv.ts";
import { ConfigError, ignoredFileValues, ignoredFileValueText, processEnv, resolveBrokerConfig } from "../../config/load.ts";
import { SETTINGS, flagName } from "../../config/spec.ts";
import { jsonLog } from "../../log/log.ts";
import { unknownEnv, unknownEnvText } from "../../config/env-names.ts";
import { serveArgs } from "../args.ts";
import { helpFix } from "../output.ts";
import { launcher, typedCommand } from "../claude-code/launcher.ts";
import { banner, exposedLogMode } from "../serve-banner.ts";
import { fail, hostProblem, listenProblem, readTls, rootProblem, ServeExit, storageReason } from "../serve-problems.ts";
import { catchUncaught } from "../serve-last-resort.ts";
import { hangupHandler } from "../serve-reload.ts";

function flagsFrom(args: ParsedArgv): Record<string, unknown> {
  return Object.fromEntries(SETTINGS.map((s) => [s.key, args[flagName(s.key)]]));
}

/** Runs `read`; a ConfigError (a bad flag or setting) becomes one line on stderr (and its fix, or
 *  with `seeHelp` serve's --help, on the next, like every error's fix) and exit 2, which the
 *  systemd unit does not restart. With `json` (`--check --json`) stdout gets the verdict as well,
 *  `{ok: false, error, fix}`, as for the check's other failures (serve-check.ts). */
function orExit2<T>(read: () => T, { seeHelp = false, json = false } = {}): T {
  try {
    return read();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const fix = err.fix ?? (seeHelp ? helpFix("serve") : null);
    const message = `${err.message}${seeHelp ? "." : ""}`;
    if (json) process.stdout.write(JSON.stringify({ ok: false, error: message, fix }, null, 2) + "\n");
    return fail(message, fix, ServeExit.badSetting);
  }
}

export async function run(_parsed: unknown, rawArgs: string[]): Promise<void> {
  // citty lets unknown flags through as stray keys: serve reads its own argv against serveArgs.
  // Until it is read, `--check --json` is known from the words themselves (serve takes no others).
  const args = orExit2(() => parseArgv(rawArgs, serveArgs), { seeHelp: true, json: rawArgs.includes("--check") && rawArgs.includes("--json") });
  const json = Boolean(args.check && args.json);
  const resolveConfig = () => resolveBrokerConfig({ flags: flagsFrom(args) as never, env: processEnv(), configFile: args.config as string | undefined });
  const resolved = () => orExit2(resolveConfig, { json });
  if (args.json && !args.check) orExit2(() => {
    throw new ConfigError("--json goes with --check; serve itself logs JSON lines on stderr");
  });
  // A check is one short job: a signal ends it at once, as it does any command.
  if (args.check) return (await import("./serve-check.ts")).check(resolved(), json);
  // Signal handlers before anything slow (the config file, the broker's modules, the store): Bun
  // installs one only when it is registered, and until then SIGTERM kills with 143. A signal that
  // comes before the broker runs is kept and honoured as soon as there is something to stop.
  let early: string | null = null;
  let onSignal = (signal: string) => void (early ??= signal);
  process.once("SIGTERM", (s: string) => onSignal(s)).once("SIGINT", (s: string) => onSignal(s));
  // SIGHUP (`systemctl reload`) reads the config file and the TLS certificate again (serve-reload.ts).
  // A closed terminal or a log tool that sends it to "reopen logs" must not end the broker
  // mid-flight (by default it exits 129 without a drain): it has no file to reopen. Before the
  // broker runs there is nothing to reload: it reads both as it starts.
  let onHangup = (): void => {};
  process.on("SIGHUP", () => onHangup());
  const setup = resolved();
  const { config } = setup;
  let logLevel = config.logLevel;
  const log = jsonLog(() => logLevel);
  // One sent while it starts is kept and made once it listens, as an early SIGTERM is: the files
  // may have changed after the start read them (a certificate renewal's reload during a restart),
  // and what sent it (certbot's deploy hook, a config manager) never sends it again.
  let hangupWhileStarting = false;
  onHangup = () => {
    if (!hangupWhileStarting) log.info("SIGHUP while the broker is starting: the config file and certificate are read again once it listens");
    hangupWhileStarting = true;
  };
  // An error nothing caught: a JSON line, then a drain once the broker runs (exit 70), not Bun's
  // raw stack trace and exit 1 with every peer dropped.
  let onUncaught = (): void => process.exit(ServeExit.uncaught);
  // The settings in force: the start's until the broker runs, then the broker's (a SIGHUP's).
  let inForce = () => config;
  catchUncaught(log, () => onUncaught(), () => inForce().drainTimeout);
  // Nothing else would say these: a mistyped variable leaves a default in place.
  for (const u of unknownEnv(processEnv())) log.warn(unknownEnvText(u), { name: u.name, didYouMean: u.meant });
  for (const i of ignoredFileValues(setup)) log.warn(ignoredFileValueText(i), i);
  const { startBroker } = await import("../../broker/server.ts");
  const { PID_FILE, claimDataDir, describeHolder, releasePidFile } = await import("../../broker/pid-file.ts");
  if (early) {
    log.info("stopped before start", { signal: early });
    process.exit(0);
  }
  // The certificate and key, read and checked before anything is touched (tls-files.ts); the
  // broker serves what was read here.
  const tls = config.tlsCert ? await readTls(config.tlsCert, config.tlsKey, "cannot start") : undefined;
  // Before the data directory is touched: a start that cannot listen must not leave a new, empty
  // database behind (the broker opens its store before it binds). Port 0 too: no port is in use
  // then, but the host may still be one this machine lacks or a name that does not resolve.
  const bind = (await hostProblem(config.host)) ?? listenProblem(config.host, config.port);
  if (bind) fail(`cannot start: ${bind[0]}`, bind[1], bind[2]);
  // As root on the broker user's directory: files made now would be root's (serve-problems.ts).
  const asRoot = rootProblem(setup);
  if (asRoot) fail(...asRoot);
  // The lock decides; the PID files only name who holds it. One left behind by a broker that no
  // longer holds the lock says it did not stop cleanly (a clean stop removes it).
  const previousStop = existsSync(join(config.dataDir, PID_FILE)) ? "unclean" : "clean";
  let other: ReturnType<typeof claimDataDir>;
  try {
    other = claimDataDir(config.dataDir, "broker");
  } catch (err) {
    fail(...(await storageReason("cannot start", err, config)));
  }
  if (other?.kind === "restore") fail(`${describeHolder(other, config.dataDir)}; start the broker once it has finished.`);
  if (other?.kind === "linked") fail(`${describeHolder(other, config.dataDir)}; two brokers must not share one database.`);
  if (other?.kind === "unlocked") fail(`${describeHolder(other, config.dataDir)}; two brokers must not share one database.`, `stop it first (kill ${other.pid}, or systemctl stop claudemesh), then start this version`);
  if (other) fail(`another broker${other.pid > 0 ? ` (PID ${other.pid})` : ""} is serving ${config.dataDir}; two brokers must not share one database.`);
  // What a restore killed before it finished staged beside the database (the claim holds its locks).
  const [{ removeStagedCopies }, { heldDatabaseFile }] = await Promise.all([import("../../broker/restore-target.ts"), import("../../broker/database-lock.ts")]);
  removeStagedCopies(heldDatabaseFile(config.dataDir));
  const broker = await startBroker(config, log, { previousStop, tls }).catch(async (err: Error) => {
    releasePidFile(config.dataDir);
    return fail(...(await storageReason("cannot start", err, config)));
  });
  inForce = () => broker.ctx.config;
  // In the same turn as "broker listening": a SIGHUP sent on reading that line reloads.
  onHangup = hangupHandler({ start: setup, resolveAgain: resolveConfig, broker, log, setLevel: (level) => (logLevel = level) });
  if (hangupWhileStarting) onHangup();
  // Scheduled backups (backupEvery) run `admin backup` in a child of this process: `launcher()`
  // is how this claudemesh runs, the binary or `bun run src/main.ts`. The interval and count in
  // force (a SIGHUP while starting may have changed them), and those of each later SIGHUP.
  const { BackupSchedule } = await import("../../broker/backup-schedule.ts");
  const { backupEvery, backupKeep } = broker.ctx.config;
  const backups = BackupSchedule.start({ dataDir: config.dataDir, everyMs: backupEvery, keep: backupKeep, command: launcher(), log, metrics: broker.ctx.metrics });
  broker.ctx.settings.follow(["backupEvery", "backupKeep"], (c) => backups.retune(c.backupEvery, c.backupKeep));
  const shutdown = async (signal: string, code = 0) => {
    log.info("shutting down", { signal });
    // A backup under way is cancelled, not waited for: see BackupSchedule.stop.
    await backups.stop();
    await broker.stop();
    releasePidFile(config.dataDir);
    process.exit(code);
  };
  onSignal = (signal) => void shutdown(signal);
  onUncaught = () => void shutdown("uncaught error", ServeExit.uncaught);
  process.stderr.write(banner(config, broker.url, broker.firstRunToken, { cli: typedCommand(), exposedLog: exposedLogMode(), certificate: broker.certificate }) + "\n");
  // A failed flush to disk: stop and exit EX_IOERR, so that the supervisor restarts the broker
  // on what the disk really holds (Store.fatal, docs/decisions.md "Fail-stop after a failed flush").
  void broker.failed.then(() => shutdown("storage failure", ServeExit.storageFailed));
  if (early) await shutdown(early);
}
