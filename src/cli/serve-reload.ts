// SIGHUP on `claudemesh serve` (`systemctl reload claudemesh`, the unit's ExecReload=): the config
// file is read again and what a running broker can take is put in force (config/changes.ts
// LIVE_SETTINGS: tlsCert, tlsKey, logLevel); the TLS certificate is read again (a renewal); every
// other change is named as waiting for a restart. One line says what was done, whatever the broker
// has: an operator used to nginx's reload could not tell a reload from nothing. A config file that
// cannot be used keeps every setting as it is and says why: a reload never stops the broker.
import { statSync } from "node:fs";
import { resolve } from "node:path";
import type { Broker } from "../broker/server.ts";
import type { TlsFiles } from "../broker/tls-reload.ts";
import { settingChanges, type SettingChange } from "../config/changes.ts";
import { ConfigError, ignoredFileValues, ignoredFileValueText, type BrokerConfig, type ResolvedConfig } from "../config/load.ts";
import type { Level, Log } from "../log/log.ts";

export type HangupDeps = {
  /** The config the broker started with (and where it came from). */
  start: ResolvedConfig;
  /** The config resolved again: the same flags and environment (a running process's do not
   *  change), the config file read again. Throws ConfigError for a file or value that cannot be
   *  used, as at start. */
  resolveAgain: () => ResolvedConfig;
  broker: Pick<Broker, "reloadTls" | "certificate" | "ctx">;
  log: Log;
  /** Puts a logLevel in force for every line from now on. */
  setLevel: (level: Level) => void;
};

const RESTART_FIX = "restart the broker to put them in force: systemctl restart claudemesh (or stop and start serve); clients reconnect by themselves, and nothing acknowledged is lost";

/** The handler of each SIGHUP once the broker runs. Never throws. */
export function hangupHandler(deps: HangupDeps): () => void {
  const { log, broker } = deps;
  // What is in force: the start's config, with what earlier SIGHUPs put in force since.
  let inForce = deps.start.config;
  const file = deps.start.configFile === null ? null : resolve(deps.start.configFile);
  return () => {
    if (broker.ctx.draining) return void log.info("SIGHUP ignored: the broker is stopping");
    const read = file === null ? null : readAgain(deps, file);
    const { live, restart } = read && "config" in read ? settingChanges(inForce, read.config) : { live: [], restart: [] };
    const applied: string[] = [];
    const refused: string[] = [];
    const level = live.find((c) => c.key === "logLevel");
    if (level) {
      changeLevel(deps, level);
      applied.push("logLevel");
    }
    if (restart.length > 0) log.warn(`settings changed in ${file} are not in force until the broker restarts: ${keys(restart)}`, { configFile: file, settings: restart, fix: RESTART_FIX });
    const tls = broker.certificate !== null;
    let reloaded = false;
    if (tls) {
      // New paths when the file gives them, else those in force: read again either way (a renewal).
      const paths = live.filter((c) => c.key === "tlsCert" || c.key === "tlsKey");
      const files: TlsFiles = paths.length > 0 && read && "config" in read ? { tlsCert: read.config.tlsCert, tlsKey: read.config.tlsKey } : { tlsCert: inForce.tlsCert, tlsKey: inForce.tlsKey };
      const used = broker.reloadTls(files);
      reloaded = used;
      (used ? applied : refused).push(...paths.map((c) => c.key));
      if (used) inForce = { ...inForce, ...files };
    }
    if (level) inForce = { ...inForce, logLevel: level.file as Level };
    const configPart = read === null ? "no config file to read again (flags and environment variables are read only at start)" : "config" in read ? changesText(file!, applied, refused, restart) : read.why;
    const tlsPart = !tls ? `no TLS certificate to reload (this broker serves plain HTTP)${applied.length === 0 ? ": nothing changed" : ""}` : reloaded ? "TLS certificate read again" : tlsRefused(refused);
    log.info(`SIGHUP: ${configPart}; ${tlsPart}`, { configFile: file, applied, restartNeeded: restart.map((c) => c.key), tls });
  };
}

/** The config read again, or why it was not: a pipe (read once at start; reading it again would
 *  wait for a writer that is gone, or forever), or a file or value that cannot be used, logged at
 *  error with its fix. Its warnings for file values a flag or variable replaces are logged again. */
function readAgain(deps: HangupDeps, file: string): { config: BrokerConfig } | { why: string } {
  try {
    if (statSync(file, { throwIfNoEntry: false })?.isFIFO()) return { why: `the config file ${file} is a pipe, read once at start: settings change with a restart` };
    const again = deps.resolveAgain();
    for (const i of ignoredFileValues(again)) deps.log.warn(ignoredFileValueText(i), i);
    return { config: again.config };
  } catch (err) {
    const fix = err instanceof ConfigError ? err.fix : null;
    deps.log.error(`config file not reloaded: ${(err as Error).message}; the broker goes on with the settings in force`, { configFile: file, fix: fix ?? `correct ${file} (claudemesh serve --check --config ${file} says what is wrong), then send SIGHUP again`, ...(err instanceof ConfigError ? {} : { err }) });
    return { why: `the config file ${file} could not be used (see the error above): nothing in it was applied` };
  }
}

/** logLevel put in force, and said at info (warn when neither level writes info lines) under
 *  whichever of the two levels is the more verbose, so that the line is written either way. */
function changeLevel({ log, setLevel }: HangupDeps, change: SettingChange): void {
  const order: Level[] = ["debug", "info", "warn", "error"];
  const [was, now] = [order.indexOf(change.inForce as Level), order.indexOf(change.file as Level)];
  const say = () => log[order[Math.max(1, Math.min(was, now))]!](`logLevel is now ${order[now]}`, { previous: order[was] });
  if (now < was) setLevel(order[now]!);
  say();
  if (now > was) setLevel(order[now]!);
}

/** The TLS part of the line when the files read could not be used (tls-reload.ts logged why at
 *  error): never "read again", which an operator checking a renewal's reload reads as done. */
const tlsRefused = (refusedPaths: string[]) =>
  refusedPaths.length > 0 ? "TLS certificate not reloaded: the previous one is still served" : "TLS certificate not reloaded: its files cannot be used now, and the previous one is still served (see the error above)";

const keys = (changes: readonly { key: string }[]) => changes.map((c) => c.key).join(", ");

function changesText(file: string, applied: string[], refused: string[], restart: SettingChange[]): string {
  const parts = [
    applied.length > 0 ? `applied ${applied.join(", ")}` : restart.length + refused.length > 0 ? "nothing applied" : "no setting changed",
    ...(refused.length > 0 ? [`${refused.join(", ")} not applied: the new files cannot be used (see the error above)`] : []),
    ...(restart.length > 0 ? [`${keys(restart)} take a restart (see the warning above)`] : []),
  ];
  return `read ${file} again: ${parts.join("; ")}`;
}
