// SIGHUP on `claudemesh serve` (`systemctl reload claudemesh`, the unit's ExecReload=): the config
// file is read again and every setting a running broker can take is put in force, all together
// (broker/settings.ts; spec.ts `sighup: "live"`: the limits, rates, quotas and durations,
// tlsCert, tlsKey, logLevel); the TLS certificate is read again (a renewal); every other change is
// named as waiting for a restart. One line says what was done, with each value put in force and
// the one it replaced, whatever the broker has: an operator used to nginx's reload could not tell
// a reload from nothing. A config file that cannot be used, new certificate paths included, puts
// nothing of it in force and says why: a reload never stops the broker.
import { statSync } from "node:fs";
import { resolve } from "node:path";
import type { Broker } from "../broker/server.ts";
import type { SettingChange } from "../config/changes.ts";
import { ConfigError, ignoredFileValues, ignoredFileValueText, type BrokerConfig, type ResolvedConfig } from "../config/load.ts";
import { SETTINGS, valueText } from "../config/spec.ts";
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
  const settings = broker.ctx.settings;
  const file = deps.start.configFile === null ? null : resolve(deps.start.configFile);
  return () => {
    if (broker.ctx.draining) return void log.info("SIGHUP ignored: the broker is stopping");
    const read = file === null ? null : readAgain(deps, file);
    const next = read && "config" in read ? read.config : null;
    const { live, restart } = next ? settings.changes(next) : { live: [], restart: [] };
    if (restart.length > 0) log.warn(`settings changed in ${file} are not in force until the broker restarts: ${keys(restart)}`, { configFile: file, settings: restart, fix: RESTART_FIX });
    const tls = broker.certificate !== null;
    // New certificate paths are the one change that can still fail once the file is read: tried
    // first, so that the file is put in force whole or not at all. Without new paths the files in
    // force are read again all the same (a renewal never waits for the config's fix).
    const paths = live.filter((c) => c.key === "tlsCert" || c.key === "tlsKey");
    const inForce = settings.current;
    const reloaded = tls && broker.reloadTls(paths.length > 0 ? { tlsCert: next!.tlsCert, tlsKey: next!.tlsKey } : { tlsCert: inForce.tlsCert, tlsKey: inForce.tlsKey });
    const blocked = paths.length > 0 && !reloaded;
    const applied = next && !blocked ? settings.apply(next) : [];
    const level = applied.find((c) => c.key === "logLevel");
    if (level) changeLevel(deps, level);
    const configPart = read === null ? "no config file to read again (flags and environment variables are read only at start)" : "config" in read ? changesText(file!, applied, blocked ? live : [], restart) : read.why;
    const tlsPart = !tls ? `no TLS certificate to reload (this broker serves plain HTTP)${applied.length === 0 ? ": nothing changed" : ""}` : reloaded ? "TLS certificate read again" : tlsRefused(blocked);
    const appliedValues = applied.map((c) => ({ key: c.key, previous: c.inForce, value: c.file }));
    log.info(`SIGHUP: ${configPart}; ${tlsPart}`, { configFile: file, applied: applied.map((c) => c.key), appliedValues, restartNeeded: restart.map((c) => c.key), tls });
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
const tlsRefused = (newPaths: boolean) =>
  newPaths ? "TLS certificate not reloaded: the previous one is still served" : "TLS certificate not reloaded: its files cannot be used now, and the previous one is still served (see the error above)";

const keys = (changes: readonly { key: string }[]) => changes.map((c) => c.key).join(", ");

/** A value as the docs write it: a duration with its unit, a list with commas, "none" for none. */
function shown(key: string, value: unknown): string {
  const text = valueText(SETTINGS.find((s) => s.key === key)!, value);
  return text === "" ? "none" : text;
}

/** The config part of the line. `held`: the changes not put in force because new certificate
 *  paths could not be used (a file is put in force whole or not at all). */
function changesText(file: string, applied: SettingChange[], held: SettingChange[], restart: SettingChange[]): string {
  const tlsKeys = held.filter((c) => c.key === "tlsCert" || c.key === "tlsKey");
  const others = held.filter((c) => !tlsKeys.includes(c));
  const parts = [
    applied.length > 0
      ? `applied ${applied.map((c) => `${c.key} ${shown(c.key, c.inForce)} → ${shown(c.key, c.file)}`).join(", ")}`
      : held.length > 0
        ? `nothing applied: the new ${keys(tlsKeys)} cannot be used (see the error above)${others.length > 0 ? `, so ${keys(others)} ${others.length === 1 ? "is" : "are"} not applied either (a file is put in force whole or not at all)` : ""}`
        : restart.length > 0
          ? "nothing applied"
          : "no setting changed",
    ...(restart.length > 0 ? [`${keys(restart)} ${restart.length === 1 ? "takes" : "take"} a restart (see the warning above)`] : []),
  ];
  return `read ${file} again: ${parts.join("; ")}`;
}
