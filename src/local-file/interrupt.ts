// Undoing what a command has made so far when a signal ends it: Ctrl-C (SIGINT), SIGTERM, or
// SIGHUP, which is what a command gets when its terminal goes away (an ssh session closed, a
// terminal window shut). Used for a restore's staged copies (broker/maintenance.ts), a backup's
// unfinished copy (broker/backup.ts) and an upgrade's partial download (cli/commands/upgrade.ts).
// Without a handler the process dies at once and leaves them, named so that nothing else removes
// them.
import { constants as osConstants } from "node:os";

/** The signals that end a command and get its work undone. */
export const INTERRUPTS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** The signal a process that exited `code` was ended by through onInterrupt (129, 130, 143), or
 *  null: for a parent that tells a child's interruption from its failure. */
export function interruptedBy(code: number | null): NodeJS.Signals | null {
  return INTERRUPTS.find((s) => code === 128 + (osConstants.signals[s] ?? 0)) ?? null;
}

/** A turn of the event loop, in which a signal received during the step before (a synchronous
 *  SQLite copy or check, which do not pause) reaches its onInterrupt handler; awaiting a promise
 *  alone does not let it. */
export const signalsHeard = (): Promise<void> => new Promise<void>((done) => setImmediate(done));

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
