// The last resort of `serve`: an exception or a promise rejection that nothing caught. Bun's
// default ends the process at once (exit 1, a raw stack trace on stderr rather than a JSON line):
// every peer dropped without a close frame, writes in flight neither committed nor refused.
// Instead the error is logged as one JSON line, and the broker drains as on SIGTERM and exits 70
// (EX_SOFTWARE), which the systemd unit and Homebrew's service restart. It does not go on
// serving: what the code was doing when it threw is not known to have finished (half a state
// change, a claim never released). Bun calls these handlers in a compiled binary too (measured),
// for throws in timers, WebSocket handlers and promise chains alike.
import type { Log } from "../log/log.ts";
import { ThrottledLog } from "../broker/throttled-log.ts";
import { ServeExit } from "./serve-problems.ts";

/** How long past the drain timeout the process may take to stop before it exits anyway: what
 *  threw may be what the drain waits for. */
export const LAST_RESORT_GRACE_MS = 5_000;

/** Installs the process's handlers. On the first error nothing caught: one `error` line (`kind`
 *  uncaughtException or unhandledRejection, `err`), then `stop()`, which drains and exits with
 *  ServeExit.uncaught (before the broker runs, it only exits); if that has not happened within
 *  `drainTimeoutMs()` (the drainTimeout in force then) + LAST_RESORT_GRACE_MS, exits 70
 *  regardless. Errors after the first are logged at most once per 10 s and start nothing more. */
export function catchUncaught(log: Log, stop: () => void, drainTimeoutMs: () => number): void {
  let stopping = false;
  const later = new ThrottledLog(log, "error", "uncaught error while stopping", () => performance.now());
  const handler = (kind: "uncaughtException" | "unhandledRejection") => (err: unknown) => {
    try {
      if (stopping) return later.note({ kind, err });
      log.error("uncaught error: stopping the broker (exit 70); a restart serves again", { kind, err });
    } catch {
      // A value the log cannot write (a BigInt thrown): stopping matters more than the line.
    }
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(ServeExit.uncaught), drainTimeoutMs() + LAST_RESORT_GRACE_MS);
    stop();
  };
  process.on("uncaughtException", handler("uncaughtException"));
  process.on("unhandledRejection", handler("unhandledRejection"));
}
