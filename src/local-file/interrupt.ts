// Undoing what a command has made so far when Ctrl-C (SIGINT) or SIGTERM ends it: a restore's
// staged copies (broker/maintenance.ts), an upgrade's partial download (cli/commands/upgrade.ts).
// Without a handler the process dies at once and leaves them, named so that nothing else removes them.
import { constants as osConstants } from "node:os";

/** Until `off`, SIGINT and SIGTERM run `undo` and exit as the signal would have (130, 143). A
 *  handler runs only while the work pauses (awaits I/O, or a turn of the event loop): work that
 *  must not be split runs without a pause, or after `off`. */
export function onInterrupt(undo: (signal: NodeJS.Signals) => void): { off(): void } {
  const handler = (signal: NodeJS.Signals) => {
    undo(signal);
    process.exit(128 + (osConstants.signals[signal] ?? 0));
  };
  process.once("SIGINT", handler).once("SIGTERM", handler);
  return { off: () => void process.off("SIGINT", handler).off("SIGTERM", handler) };
}
