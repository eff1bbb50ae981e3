// Undoing what a command has made so far when a signal ends it: Ctrl-C (SIGINT), SIGTERM, or
// SIGHUP, which is what a command gets when its terminal goes away (an ssh session closed, a
// terminal window shut). Used for a restore's staged copies (broker/maintenance.ts) and an
// upgrade's partial download (cli/commands/upgrade.ts). Without a handler the process dies at once
// and leaves them, named so that nothing else removes them.
import { constants as osConstants } from "node:os";

/** The signals that end a command and get its work undone. */
export const INTERRUPTS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** Until `off`, SIGINT, SIGTERM and SIGHUP run `undo` and exit as the signal would have (130,
 *  143, 129), even when `undo` throws (its message to a terminal that is gone, for one). A handler
 *  runs only while the work pauses (awaits I/O, or a turn of the event loop): work that must not
 *  be split runs without a pause, or after `off`. */
export function onInterrupt(undo: (signal: NodeJS.Signals) => void): { off(): void } {
  const handler = (signal: NodeJS.Signals) => {
    try {
      undo(signal);
    } finally {
      process.exit(128 + (osConstants.signals[signal] ?? 0));
    }
  };
  for (const signal of INTERRUPTS) process.once(signal, handler);
  return {
    off: () => {
      for (const signal of INTERRUPTS) process.off(signal, handler);
    },
  };
}
