// The broker's settings, as data: one row per key with its flag, env var, type, default and doc.
// load.ts reads them (flags > CLAUDEMESH_* env > config file > defaults); docs/operations.md's
// table is checked against this list by a test.

export type Kind =
  | { type: "dir" }
  | { type: "file" }
  | { type: "host" }
  | { type: "url" }
  | { type: "int"; min: number; max: number }
  | { type: "duration"; min: number; max: number }
  | { type: "enum"; values: readonly string[] }
  | { type: "list" };

/** What a SIGHUP does with a new value of the setting in the config file: `live`, put in force at
 *  once (broker/settings.ts); `restart`, named as waiting for a restart, because the value is fixed
 *  where the broker was built (docs/operations.md, "Signals and shutdown", says why for each). */
export type Reload = "live" | "restart";

export type Setting = { key: string; kind: Kind; default: unknown; doc: string; sighup: Reload };

const int = (min: number, max: number): Kind => ({ type: "int", min, max });
const ms = (min: number, max: number): Kind => ({ type: "duration", min, max });
const SEC = 1000;
const MIN = 60 * SEC;
const DAY = 24 * 60 * MIN;

/** Queue entries the whole broker holds by default. The queue index keeps ~150 bytes of memory per
 *  entry, and a start rebuilds it from the database at a peak of ~400 bytes and ~6 µs per entry
 *  (measured: docs/operations.md, Memory). A million is ~150 MB live, ~400 MB and ~6 s at a start:
 *  room for a broker on a 1 GB machine. */
const BROKER_QUEUE_QUOTA = 1_000_000;

/** The least a duration written without a unit may say, 0 aside: a bare number is milliseconds,
 *  and one under a second was meant in seconds far more often than not (`CLAUDEMESH_DRAIN_TIMEOUT=30`
 *  gave a 30 ms drain). A shorter duration, where its range allows one, is written with `ms`. */
export const UNITLESS_MIN_MS = SEC;

export const SETTINGS = [
  { key: "host", kind: { type: "host" }, default: "127.0.0.1", doc: "Address to listen on. Use 0.0.0.0 to accept remote clients (with tlsCert and tlsKey, or behind a TLS proxy).", sighup: "restart" },
  { key: "port", kind: int(0, 65535), default: 7900, doc: "TCP port for HTTP and WebSocket. 0 picks a free port.", sighup: "restart" },
  { key: "dataDir", kind: { type: "dir" }, default: "", doc: "Directory for the SQLite database. Default: $XDG_DATA_HOME/claudemesh or ~/.local/share/claudemesh.", sighup: "restart" },
  { key: "publicUrl", kind: { type: "url" }, default: "", doc: "URL clients use to reach this broker (for banners and links), e.g. https://mesh.example.com; its path, if any, is served as well as the root.", sighup: "restart" },
  { key: "tlsCert", kind: { type: "file" }, default: "", doc: "PEM certificate file: with tlsKey, the broker serves https:// and wss:// itself. The server's certificate first, then its chain (certbot's fullchain.pem). Read again on SIGHUP, from its new path if the config file gives one.", sighup: "live" },
  { key: "tlsKey", kind: { type: "file" }, default: "", doc: "PEM private key file of tlsCert (certbot's privkey.pem), without a passphrase and not readable by every user. Read again on SIGHUP, from its new path if the config file gives one.", sighup: "live" },
  { key: "logLevel", kind: { type: "enum", values: ["debug", "info", "warn", "error"] }, default: "info", doc: "Least severe log level written to stderr. A new value in the config file is put in force on SIGHUP.", sighup: "live" },
  { key: "synchronous", kind: { type: "enum", values: ["full", "normal"] }, default: "full", doc: "SQLite durability: full survives power loss, normal survives a process crash only.", sighup: "restart" },
  { key: "maxFrameBytes", kind: int(1024, 1024 * 1024), default: 65536, doc: "Largest WebSocket frame parsed, in bytes.", sighup: "restart" },
  { key: "messageTtl", kind: ms(SEC, 365 * DAY), default: 7 * DAY, doc: "How long an undelivered message waits for its recipient.", sighup: "live" },
  { key: "queueQuota", kind: int(1, 10_000_000), default: 10_000, doc: "Most undelivered messages one recipient may have waiting.", sighup: "live" },
  { key: "queueSenderShare", kind: int(1, 100), default: 50, doc: "Percent of one recipient's queueQuota that the messages of one sending member may fill (100: no share).", sighup: "live" },
  { key: "meshQueueQuota", kind: int(1, 100_000_000), default: 250_000, doc: "Most undelivered messages (queue entries) one mesh may have waiting, across its recipients.", sighup: "live" },
  { key: "brokerQueueQuota", kind: int(1, 100_000_000), default: BROKER_QUEUE_QUOTA, doc: "Most undelivered messages (queue entries) the broker may hold in all; each costs ~150 bytes of memory, ~400 while the broker starts.", sighup: "live" },
  { key: "dedupWindow", kind: ms(SEC, DAY), default: 2 * MIN, doc: "How long a client message id is remembered to de-duplicate retried sends.", sighup: "live" },
  { key: "sendRate", kind: int(1, 1_000_000), default: 20, doc: "Sustained messages per second one member may send (token bucket refill).", sighup: "live" },
  { key: "sendBurst", kind: int(1, 1_000_000), default: 100, doc: "Messages one member may send in a burst (token bucket size).", sighup: "live" },
  { key: "requestRate", kind: int(1, 1_000_000), default: 100, doc: "Sustained frames per second one connection may send besides the sends and acks that move messages: requests, refused frames, acks of messages it was not given (token bucket refill). Past it the broker stops reading the connection for a while.", sighup: "live" },
  { key: "requestBurst", kind: int(1, 1_000_000), default: 500, doc: "Such frames one connection may send in a burst (token bucket size).", sighup: "live" },
  { key: "maxConnectionsPerMesh", kind: int(1, 1_000_000), default: 1000, doc: "Authenticated connections allowed in one mesh.", sighup: "live" },
  { key: "maxConnectionsPerIp", kind: int(1, 1_000_000), default: 1024, doc: "Open connections allowed from one client address. Every client behind one NAT or proxy shares it, and each Claude Code session holds one per mesh.", sighup: "live" },
  { key: "maxUnsentPerIp", kind: int(1024 * 1024, 64 * 1024 * 1024 * 1024), default: 64 * 1024 * 1024, doc: "Bytes of output one client address's connections may hold unsent together (answers and messages their clients have not read yet). Past it each connection is held to its share (this over the address's connections): its frames wait and its pushes pause, and an answer larger than its share is refused with rate_limited. Every client behind one NAT or proxy shares it.", sighup: "live" },
  { key: "claimBurst", kind: int(1, 1_000_000), default: 50, doc: "Invite claims (members enrolled) one client address may make at once (token bucket size); past it, 429 rate_limited.", sighup: "live" },
  { key: "claimEvery", kind: ms(1, DAY), default: 30 * SEC, doc: "After claimBurst, one more invite claim per client address each this long (token bucket refill).", sighup: "live" },
  { key: "helloTimeout", kind: ms(100, MIN), default: 10 * SEC, doc: "A socket without a hello after this long is closed.", sighup: "live" },
  { key: "pingInterval", kind: ms(100, 10 * MIN), default: 30 * SEC, doc: "How often the broker pings each socket; one missed pong closes it. Clients watch for silence at the same pace (told in hello_ack).", sighup: "restart" },
  { key: "presenceGrace", kind: ms(0, 10 * MIN), default: 30 * SEC, doc: "A peer that reconnects within this time re-attaches without leave/join events.", sighup: "restart" },
  { key: "drainTimeout", kind: ms(SEC, 10 * MIN), default: 10 * SEC, doc: "On SIGTERM, how long to wait for in-flight writes before exiting.", sighup: "live" },
  { key: "backupEvery", kind: ms(0, 365 * DAY), default: DAY, doc: "How often the broker backs its database up into <dataDir>/backups/ (claudemesh-auto-*.db, checked as admin backup checks), counted from the newest such backup, across restarts. 0 turns the schedule off.", sighup: "live" },
  { key: "backupKeep", kind: int(1, 1000), default: 7, doc: "How many scheduled backups to keep: after each one that succeeds, the oldest beyond this are deleted (never a backup taken with admin backup).", sighup: "live" },
  { key: "topicHistory", kind: int(0, 10_000_000), default: 10_000, doc: "Messages of history kept per topic for resume by offset (0 keeps all).", sighup: "restart" },
  { key: "trustedProxies", kind: { type: "list" }, default: [], doc: "Comma-separated proxy addresses or CIDR ranges whose X-Forwarded-For is believed (for per-IP limits).", sighup: "live" },
] as const satisfies readonly Setting[];

export type SettingKey = (typeof SETTINGS)[number]["key"];

/** Milliseconds per duration unit, largest first: what load.ts parses, and formatDurationMs writes. */
export const DURATION_UNITS: Readonly<Record<string, number>> = { d: DAY, h: 60 * MIN, m: MIN, s: SEC, ms: 1 };

/** Milliseconds as docs/operations.md writes them: the largest unit that divides exactly
 *  (604800000 → "7d", 120000 → "2m", 100 → "100ms", 0 → "0s"). */
export function formatDurationMs(ms: number): string {
  if (ms === 0) return "0s";
  const [unit, size] = Object.entries(DURATION_UNITS).find(([, size]) => ms % size === 0)!; // "ms" divides all
  return `${ms / size}${unit}`;
}

/** A setting's value in the docs' words, as a flag takes it back: durations with a unit, a list
 *  joined with commas. */
export function valueText(s: Setting, value: unknown): string {
  if (Array.isArray(value)) return value.join(",");
  return s.kind.type === "duration" ? formatDurationMs(value as number) : String(value);
}

/** A setting's default for `serve --help`, in the docs' words (valueText), "none" for an empty
 *  list or file, and "see docs" for one computed at start (dataDir). */
export function defaultText(s: Setting): string {
  if ((Array.isArray(s.default) && s.default.length === 0) || (s.kind.type === "file" && s.default === "")) return "none";
  return valueText(s, s.default) || "see docs";
}

/** The range a number setting accepts, as its error says it: "between 1s and 365d" for a
 *  duration, "an integer in [1024, 1048576]" otherwise. */
export function rangeText(kind: Extract<Kind, { min: number }>): string {
  return kind.type === "duration" ? `between ${formatDurationMs(kind.min)} and ${formatDurationMs(kind.max)}` : `an integer in [${kind.min}, ${kind.max}]`;
}

/** Environment variable for a key: CLAUDEMESH_ + SCREAMING_SNAKE (e.g. CLAUDEMESH_MAX_FRAME_BYTES). */
export const envName = (key: string): string => `CLAUDEMESH_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
/** Command-line flag for a key: kebab-case (e.g. --max-frame-bytes). */
export const flagName = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
