// Reads the broker config once: flags > CLAUDEMESH_* env > JSON config file > defaults. Every value
// is validated here and the result is frozen; nothing else reads the environment for the broker.
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { fileError, LocalFileError } from "../local-file/error.ts";
import { parseJsonText } from "../local-file/json.ts";
import { closest } from "../did-you-mean.ts";
import { checkHost, publicUrlProblem } from "./address.ts";
import { shownUrl } from "../shown-url.ts";
import { trustedProxiesProblem } from "./trusted-proxies.ts";
import { DURATION_UNITS, SETTINGS, UNITLESS_MIN_MS, envName, flagName, formatDurationMs, rangeText, type Kind, type Setting, type SettingKey } from "./spec.ts";

export type BrokerConfig = Readonly<{
  host: string;
  port: number;
  dataDir: string;
  publicUrl: string;
  /** Absolute paths of the PEM certificate (chain) and key; both "" (plain HTTP) or both set. */
  tlsCert: string;
  tlsKey: string;
  logLevel: "debug" | "info" | "warn" | "error";
  synchronous: "full" | "normal";
  maxFrameBytes: number;
  messageTtl: number;
  queueQuota: number;
  queueSenderShare: number;
  meshQueueQuota: number;
  brokerQueueQuota: number;
  dedupWindow: number;
  sendRate: number;
  sendBurst: number;
  requestRate: number;
  requestBurst: number;
  maxConnectionsPerMesh: number;
  maxConnectionsPerIp: number;
  /** Bytes (broker/address-output.ts). */
  maxUnsentPerIp: number;
  claimBurst: number;
  /** Milliseconds per claim after the burst (http/meshes.ts). */
  claimEvery: number;
  helloTimeout: number;
  pingInterval: number;
  presenceGrace: number;
  drainTimeout: number;
  /** Milliseconds between scheduled backups; 0: none (backup-schedule.ts). */
  backupEvery: number;
  backupKeep: number;
  topicHistory: number;
  trustedProxies: readonly string[];
}>;

/** The process environment; the one place outside tests that reads it. */
export function processEnv(): Record<string, string | undefined> {
  return process.env;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  /** The next step when the message alone does not say it (a config file that cannot be read). */
  readonly fix: string | null;
  constructor(message: string, options: ErrorOptions & { fix?: string | null } = {}) {
    super(message, options);
    this.fix = options.fix ?? null;
  }
}

/** A duration as written: "500ms", "30s", "5m", "2h", "7d", or a number without a unit, which is
 *  milliseconds (`unit` false; a config file's JSON number too). Null when it is none of these. */
export function parseDuration(raw: unknown): { ms: number; unit: boolean } | null {
  if (typeof raw === "number") return { ms: raw, unit: false };
  const t = typeof raw === "string" ? raw.trim() : "";
  if (/^\d+$/.test(t)) return { ms: Number(t), unit: false };
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(t);
  if (!m) return null;
  // A fraction of a millisecond ("99.5ms", "0.4ms") is kept, for checkDuration to refuse as not a
  // whole number of milliseconds, rather than rounded past a minimum or down to 0, which turned a
  // setting off. Binary floating point's own error ("1.1s" is 1100.0000000000002) is not one.
  const exact = Number(m[1]) * DURATION_UNITS[m[2]!]!;
  const whole = Math.round(exact);
  return { ms: Math.abs(exact - whole) < 1e-6 ? whole : exact, unit: true };
}

/** parseDuration's milliseconds, without the unitless check (invite --expires, whose minimum is a
 *  minute anyway). */
export const parseDurationMs = (text: string): number | null => parseDuration(text)?.ms ?? null;

/** The duration `raw` says, in milliseconds, when it is one of `range` (every broker duration
 *  setting and the client's CLAUDEMESH_TIMEOUT), else why not: not a duration, outside the range,
 *  or a number without a unit from 1 to 999, refused even where the range takes it
 *  (UNITLESS_MIN_MS: `--drain-timeout 30` meant 30 s, most likely), with what to write instead:
 *  the number in seconds, and in milliseconds where the range takes it. */
export function checkDuration(raw: unknown, range: Extract<Kind, { type: "duration" }>): { ms: number } | { problem: string } {
  const d = parseDuration(raw);
  if (d === null) return { problem: "expected milliseconds or a duration like 500ms, 30s, 5m, 2h, 7d" };
  const { ms: n, unit } = d;
  const fits = (v: number) => v >= range.min && v <= range.max;
  if (!Number.isInteger(n)) return { problem: `must be a whole number of milliseconds, ${rangeText(range)}` };
  const floor = !unit && n > 0 ? Math.max(range.min, UNITLESS_MIN_MS) : range.min;
  if (n >= floor && n <= range.max) return { ms: n };
  if (unit || n <= 0 || n > range.max) return { problem: `must be ${rangeText(range)}${!unit && n > 0 ? "; a number without a unit is milliseconds" : ""}` };
  const ways = [fits(n * DURATION_UNITS.s!) ? `${n}s` : null, fits(n) ? `${n}ms if you mean milliseconds` : null].filter((w) => w !== null);
  const why = floor > range.min ? "for a number without a unit" : "(a number without a unit is milliseconds)";
  return { problem: `${n} ms is below the minimum of ${formatDurationMs(floor)} ${why}; ${ways.length > 0 ? `write ${ways.join(", or ")}` : `write it with a unit: it must be ${rangeText(range)}`}` };
}

/** Why `dir` cannot be the data directory (a file, or a path through one), or null: a directory,
 *  or nothing yet (serve creates it). */
function dirProblem(dir: string): string | null {
  try {
    return statSync(dir, { throwIfNoEntry: false })?.isDirectory() === false ? `${dir} is not a directory` : null;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ENOTDIR" ? `a part of ${dir} is not a directory` : null;
  }
}

/** `raw` as an error, a warning or `serve --check --json` may show it: a URL without what may be a
 *  secret in it (shownUrl). */
const shown = (kind: Kind, raw: unknown): unknown => (kind.type === "url" && typeof raw === "string" ? shownUrl(raw) : raw);

/** `base`: the directory a relative path is taken from (the config file's), or null for the
 *  working directory. */
function coerce(key: string, kind: Kind, raw: unknown, source: string, base: string | null = null): unknown {
  const bad = (why: string) => new ConfigError(`${key} from ${source}: ${why} (got ${JSON.stringify(shown(kind, raw))})`);
  switch (kind.type) {
    case "dir": {
      if (typeof raw !== "string") throw bad("expected a string");
      // Only the file can say "": the default is had by leaving the key out.
      if (raw === "") throw bad("empty; leave the key out for the default directory");
      const dir = base === null ? raw : resolve(base, raw);
      const problem = dirProblem(dir);
      if (problem) throw bad(problem);
      return dir;
    }
    case "file": {
      if (typeof raw !== "string") throw bad("expected a string");
      // "" is none, as the config file may say (a flag may not; an empty variable is unset). What
      // the file holds is checked where it is read (tls-files.ts): the admin commands, which
      // share this config, never read it.
      if (raw === "") return "";
      return base === null ? resolve(raw) : resolve(base, raw);
    }
    case "host": {
      if (typeof raw !== "string") throw bad("expected a string");
      const checked = checkHost(raw);
      if ("problem" in checked) throw bad(checked.problem);
      return checked.host;
    }
    case "url": {
      if (typeof raw !== "string") throw bad("expected a string");
      // Empty is the default: no public URL (only a config file can say so; see loadBrokerConfig).
      const problem = raw === "" ? null : publicUrlProblem(raw);
      if (problem) throw bad(problem);
      return raw;
    }
    case "enum": {
      // Any case: CLAUDEMESH_LOG_LEVEL=DEBUG, synchronous FULL as SQLite spells it.
      const value = typeof raw === "string" ? raw.trim().toLowerCase() : null;
      if (value === null || !kind.values.includes(value)) throw bad(`expected one of ${kind.values.join(", ")}`);
      return value;
    }
    case "list":
      if (Array.isArray(raw) && raw.every((x) => typeof x === "string")) return checkList(key, raw, bad);
      if (typeof raw === "string") return checkList(key, raw.split(",").map((s) => s.trim()).filter(Boolean), bad);
      throw bad("expected a comma-separated list");
    case "int": {
      const n = typeof raw === "number" ? raw : typeof raw === "string" && /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : null;
      if (n === null) throw bad("expected an integer");
      if (!Number.isInteger(n) || n < kind.min || n > kind.max) throw bad(`must be ${rangeText(kind)}`);
      return n;
    }
    case "duration": {
      const checked = checkDuration(raw, kind);
      if ("problem" in checked) throw bad(checked.problem);
      return checked.ms;
    }
  }
}

/** The one list setting, trustedProxies, holds addresses or CIDR ranges: anything else (a host
 *  name, a mistyped range) would be accepted and never match. */
function checkList(key: string, list: string[], bad: (why: string) => ConfigError): string[] {
  const problem = key === "trustedProxies" ? trustedProxiesProblem(list) : null;
  if (problem) throw bad(problem);
  return list;
}

export type ConfigSources = {
  /** Parsed command-line flags keyed by setting key (camelCase); undefined = not given. */
  flags?: Partial<Record<SettingKey, unknown>>;
  env?: Record<string, string | undefined>;
  /** Path of a JSON config file; missing → none. CLAUDEMESH_CONFIG in env also names one. */
  configFile?: string;
};

/** The data directory when no flag, variable or config file names one: under XDG_DATA_HOME or HOME. */
export function defaultDataDir(env: Record<string, string | undefined>): string {
  const xdg = env.XDG_DATA_HOME;
  return xdg ? join(xdg, "claudemesh") : join(env.HOME || homedir(), ".local", "share", "claudemesh");
}

/** Where the config file was named, for the fixes. */
const NAMED_BY = "--config (or CLAUDEMESH_CONFIG)";

/** Most bytes a config file may hold: a few hundred are real; anything near this is not one. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/** What the config file is when it is nothing to read settings from, or null: a device (/dev/zero
 *  never ends) or a socket is refused unopened. A pipe is read (`--config <(make-config)`, bash's
 *  process substitution, is one), as far as MAX_CONFIG_BYTES (readBounded). */
function notAFile(path: string): string | null {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st || st.isDirectory() || st.isFIFO()) return null; // a directory: the read says so, with its own fix
  if (!st.isFile()) return st.isSocket() ? "a socket" : "a device";
  return st.size > MAX_CONFIG_BYTES ? `${st.size} bytes, more than a config file holds (${MAX_CONFIG_BYTES})` : null;
}

/** The file's text, read as far as one byte past MAX_CONFIG_BYTES (a pipe has no size to look
 *  at first): null when it holds more. */
function readBounded(path: string): string | null {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let got = 0;
    for (let n; got < buf.length && (n = readSync(fd, buf, got, buf.length - got, null)) > 0; ) got += n;
    return got > MAX_CONFIG_BYTES ? null : buf.toString("utf8", 0, got);
  } finally {
    closeSync(fd);
  }
}

/** The names that occur more than once among the keys of `text`'s top-level object (the config is
 *  one flat object). JSON.parse keeps the last of a repeated key without a word; the same mistake
 *  on the command line (a flag given twice) is refused, and so is it here. */
function repeatedTopKeys(text: string): string[] {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") depth--;
    else if (c === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === "\\") i++;
      if (depth !== 1 || !/^\s*:/.test(text.slice(i + 1, i + 40))) continue;
      const key = JSON.parse(text.slice(start, i + 1)) as string;
      if (seen.has(key)) repeated.add(key);
      seen.add(key);
    }
  }
  return [...repeated];
}

function readFileLayer(path: string): Record<string, unknown> {
  let text: string;
  try {
    const what = notAFile(path);
    if (what) throw new ConfigError(`config file ${path} is ${what}, not a JSON config file`, { fix: `give ${NAMED_BY} the path of the JSON config file` });
    const read = readBounded(path);
    if (read === null) throw new ConfigError(`config file ${path} holds more than a config file holds (${MAX_CONFIG_BYTES} bytes)`, { fix: `give ${NAMED_BY} the path of the JSON config file` });
    text = read;
  } catch (cause) {
    if (cause instanceof ConfigError) throw cause;
    const fix = { ENOENT: `check the path given to ${NAMED_BY}`, ENOTDIR: `check the path given to ${NAMED_BY}`, EISDIR: `give ${NAMED_BY} the path of the JSON config file, not a directory` };
    const err = fileError(cause, path, "read", { what: "the config file", fix });
    if (!(err instanceof LocalFileError)) throw err;
    throw new ConfigError(err.message, { fix: err.fix, cause });
  }
  const json = parseJsonText(text);
  if (!json.ok) throw new ConfigError(`config file ${path} ${json.problem}`, { fix: `correct the JSON there (a trailing comma and a missing quote are the usual ones), or point ${NAMED_BY} at another file` });
  const parsed = json.value;
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new ConfigError(`config file ${path} must hold a JSON object`, { fix: `write the settings as one JSON object, like {"port": 7900}` });
  const twice = repeatedTopKeys(text);
  if (twice.length > 0) throw new ConfigError(`config file ${path}: the key "${twice[0]}" is given more than once (only the last would count)`, { fix: "keep one of them" });
  const keys = SETTINGS.map((s) => s.key as string);
  for (const k of Object.keys(parsed)) {
    if (keys.includes(k)) continue;
    const near = closest(k, keys);
    throw new ConfigError(`config file ${path}: unknown key "${k}"${near ? ` (did you mean "${near}"?)` : ""}`, { fix: `the keys are those of \`claudemesh serve --help\`, in camelCase: ${keys.join(", ")}` });
  }
  return parsed as Record<string, unknown>;
}

/** Where a setting's value came from: a flag, an environment variable, the config file or the
 *  default; `name` is the flag (`--port`), the variable, the file's path or "default".
 *  `overrides`: for a flag or variable that replaced a different value the config file gives the
 *  same key, that value as the file writes it, and this one as given. */
export type Origin = { kind: "flag" | "env" | "file" | "default"; name: string; overrides?: { fileValue: unknown; value: unknown } };

/** The config `serve` runs with, where each value came from, and the config file read (as named,
 *  by --config or CLAUDEMESH_CONFIG), if any. */
export type ResolvedConfig = { config: BrokerConfig; origins: Readonly<Record<SettingKey, Origin>>; configFile: string | null };

/** A config file's value that a flag or variable replaced (Origin.overrides), for serve, serve
 *  --check and the admin commands to warn of: nothing else says the file is not what counts.
 *  `file` is the config file, so that a log line or a JSON report stands on its own. */
type IgnoredFileValue = { key: SettingKey; file: string; fileValue: unknown; from: string; value: unknown };

export function ignoredFileValues({ origins, configFile }: Pick<ResolvedConfig, "origins" | "configFile">): IgnoredFileValue[] {
  return SETTINGS.flatMap(({ key }) => {
    const o = origins[key];
    return o.overrides ? [{ key, file: configFile!, ...o.overrides, from: o.name }] : [];
  });
}

/** One line: `dataDir "/srv/cm" in /etc/claudemesh.json is ignored: CLAUDEMESH_DATA_DIR gives
 *  "/var/lib/claudemesh", and the environment beats the config file`. */
export const ignoredFileValueText = (i: IgnoredFileValue): string =>
  `${i.key} ${JSON.stringify(i.fileValue)} in ${i.file} is ignored: ${i.from} gives ${JSON.stringify(i.value)}, and ${i.from.startsWith("--") ? "a flag" : "the environment"} beats the config file`;

/** Whether the config file's `raw` for `s` is `value` (one the file could not give is not). */
function fileGives(s: Setting, raw: unknown, file: string, value: unknown): boolean {
  try {
    const own = coerce(s.key, s.kind, raw, file, dirname(resolve(file)));
    return s.kind.type === "dir" ? resolve(own as string) === resolve(value as string) : JSON.stringify(own) === JSON.stringify(value);
  } catch {
    return false;
  }
}

/** The value `key` is given by its first source that has one (flag > environment > file), with
 *  where it came from and the directory a relative path in it is taken from (the file's; null: the
 *  working directory); null for the default. An empty flag is a mistake (`--port "$UNSET"`), never
 *  "not given"; an empty environment variable counts as unset, as systemd's EnvironmentFile= and
 *  shells commonly leave them. */
function givenValue(key: SettingKey, flag: unknown, fromEnv: string | undefined, fileLayer: Record<string, unknown>, file: string | undefined): { raw: unknown; origin: Origin; base: string | null } | null {
  if (flag === "") throw new ConfigError(`${key} from --${flagName(key)}: needs a value`);
  if (flag !== undefined) return { raw: flag, origin: { kind: "flag", name: `--${flagName(key)}` }, base: null };
  if (fromEnv !== undefined && fromEnv !== "") return { raw: fromEnv, origin: { kind: "env", name: envName(key) }, base: null };
  if (key in fileLayer) return { raw: fileLayer[key], origin: { kind: "file", name: file! }, base: dirname(resolve(file!)) };
  return null;
}

/** Refuses a TLS certificate without its key, or a key without its certificate: the broker needs
 *  both to serve TLS, and would otherwise serve plain HTTP where TLS was meant. */
function tlsPair(out: Record<string, unknown>, origins: Record<SettingKey, Origin>): void {
  const [given, missing] = out.tlsCert && !out.tlsKey ? (["tlsCert", "tlsKey"] as const) : !out.tlsCert && out.tlsKey ? (["tlsKey", "tlsCert"] as const) : [null, null];
  if (given === null) return;
  const what = missing === "tlsKey" ? "its private key (certbot's privkey.pem)" : "the certificate, with its chain (certbot's fullchain.pem)";
  throw new ConfigError(`${given} from ${origins[given].name} is given without ${missing}: serving TLS takes both`, {
    fix: `give ${missing} too (--${flagName(missing)}, ${envName(missing)} or "${missing}" in the config file), ${what}; or neither, to serve plain HTTP`,
  });
}

/** Builds the validated, frozen config. Throws ConfigError naming the key, source and reason. */
export function loadBrokerConfig(sources: ConfigSources = {}): BrokerConfig {
  return resolveBrokerConfig(sources).config;
}

/** loadBrokerConfig, with where each value came from and the config file read (ResolvedConfig). */
export function resolveBrokerConfig(sources: ConfigSources = {}): ResolvedConfig {
  const env = sources.env ?? {};
  const file = sources.configFile ?? env.CLAUDEMESH_CONFIG;
  const fileLayer = file ? readFileLayer(file) : {};
  const out: Record<string, unknown> = {};
  const origins = {} as Record<SettingKey, Origin>;
  for (const s of SETTINGS) {
    const given = givenValue(s.key, sources.flags?.[s.key], env[envName(s.key)], fileLayer, file);
    out[s.key] = given ? coerce(s.key, s.kind, given.raw, given.origin.name, given.base) : s.default;
    origins[s.key] = given?.origin ?? { kind: "default", name: "default" };
    if (given && given.origin.kind !== "file" && s.key in fileLayer && !fileGives(s, fileLayer[s.key], file!, out[s.key])) {
      origins[s.key] = { ...given.origin, overrides: { fileValue: shown(s.kind, fileLayer[s.key]), value: given.raw } };
    }
  }
  if (!out.dataDir) out.dataDir = defaultDataDir(env);
  if ((out.sendBurst as number) < 1) throw new ConfigError("sendBurst must be at least 1");
  tlsPair(out, origins);
  return { config: Object.freeze(out) as BrokerConfig, origins: Object.freeze(origins), configFile: file || null };
}
