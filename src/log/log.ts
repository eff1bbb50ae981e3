// Structured logging. `serve` writes one JSON object per line to stderr; tests pass a capturing
// sink. stdout is never used, so `claudemesh mcp` can share this logger safely.

export type Level = "debug" | "info" | "warn" | "error";
const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type Log = {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Log;
};

export type Sink = (line: string) => void;
/** Whether stderr's write errors are taken care of (stderrSink). */
let stderrGuarded = false;
/** Writes to stderr. Its reader may go away (`serve 2>&1 | head`, a log shipper restarting): the
 *  write then fails with EPIPE, which with no listener for the stream's errors ends the process
 *  with exit 1, mid-flight, without a drain. Logging must never stop the broker, so a failed
 *  write is dropped: nobody is reading it. */
const stderrSink: Sink = (line) => {
  if (!stderrGuarded) {
    stderrGuarded = true;
    process.stderr.on("error", () => {});
  }
  process.stderr.write(line + "\n");
};

/** An Error as JSON: name, message, errno-style code, a short stack, and its cause (a few levels:
 *  "could not be flushed" is only actionable with the EIO under it). */
function errorFields(value: unknown, depth = 0): unknown {
  if (!(value instanceof Error)) return value;
  const code = (value as { code?: unknown }).code;
  return {
    name: value.name,
    message: value.message,
    ...(typeof code === "string" || typeof code === "number" ? { code } : {}),
    stack: value.stack?.split("\n").slice(0, 6).join("\n"),
    ...(value.cause !== undefined && depth < 3 ? { cause: errorFields(value.cause, depth + 1) } : {}),
  };
}

/** A JSON-lines logger. Fields named `err` are expanded from Error objects. `level` is the least
 *  severe level written, or a function asked at each line (serve's logLevel, which a SIGHUP can
 *  change: cli/serve-reload.ts); its children share it. */
export function jsonLog(level: Level | (() => Level) = "info", sink: Sink = stderrSink, base: Record<string, unknown> = {}): Log {
  const least = typeof level === "function" ? level : () => level;
  const write = (lvl: Level, msg: string, fields?: Record<string, unknown>) => {
    if (RANK[lvl] < RANK[least()]) return;
    const rec: Record<string, unknown> = { ts: new Date().toISOString(), level: lvl, msg, ...base };
    if (fields) for (const [k, v] of Object.entries(fields)) rec[k] = k === "err" ? errorFields(v) : v;
    sink(JSON.stringify(rec));
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    child: (fields) => jsonLog(level, sink, { ...base, ...fields }),
  };
}

/** Discards everything (unit tests of code that takes a Log). */
export const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {}, child: () => silentLog };
