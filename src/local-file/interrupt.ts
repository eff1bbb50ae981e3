// What a signal does to a command: Ctrl-C (SIGINT), SIGTERM, or SIGHUP, which is what a process
// gets when its terminal goes away (an ssh session closed, a terminal window shut).
// - onInterrupt: work that a signal cuts short is undone, and the exit is the signal's (128+n). Used
//   for a restore's staged copies (broker/maintenance.ts), a backup's unfinished copy
//   (broker/backup.ts) and an upgrade's partial download (cli/commands/upgrade.ts). Without a
//   handler the process dies at once and leaves them, named so that nothing else removes them.
// - onStop: a command or server that runs until it is stopped (`inbox --follow`, `dashboard`, the
//   MCP server) stops as it does on its own: what it showed is recorded, its connection closed
//   normally, its sockets removed. Killed by the default action, it did none of that.
import { readFileSync } from "node:fs";
import { constants as osConstants } from "node:os";

/** The signals that end a command: its work is undone (onInterrupt), or it stops cleanly (onStop). */
export const INTERRUPTS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** The exit code of a process ended by `signal`, as a shell reports it: 128 + its number. */
export const exitCodeOf = (signal: NodeJS.Signals): number => 128 + (osConstants.signals[signal] ?? 0);

/** The signal a process that exited `code` was ended by through onInterrupt (129, 130, 143), or
 *  null: for a parent that tells a child's interruption from its failure. */
export function interruptedBy(code: number | null): NodeJS.Signals | null {
  return INTERRUPTS.find((s) => code === exitCodeOf(s)) ?? null;
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
  return onStop((signal) => {
    try {
      undo(signal);
    } finally {
      process.exit(exitCodeOf(signal));
    }
  });
}

/** Of INTERRUPTS, those this process ignores now, as it was started (`nohup` starts a command with
 *  SIGHUP ignored, so that it outlives its terminal; a shell without job control starts what it
 *  runs with `&` with SIGINT ignored). Read from /proc/self/status on Linux; none elsewhere. */
function ignored(): NodeJS.Signals[] {
  let mask: bigint;
  try {
    const hex = /^SigIgn:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
    if (!hex) return [];
    mask = BigInt(`0x${hex}`);
  } catch {
    return []; // no /proc (macOS)
  }
  return INTERRUPTS.filter((s) => (mask >> BigInt((osConstants.signals[s] ?? 1) - 1)) & 1n);
}

/** Until `off`, SIGINT, SIGTERM and SIGHUP each call `stop` the first time they come: the clean
 *  stop of a command or server that runs until it is stopped, which then exits by itself (with the
 *  code its docs give; a second call, another of the signals during the stop, is for it to ignore).
 *  The same signal again ends the process as it would without a handler (128+n): whoever sends it
 *  twice does not want to wait. A signal the process was started ignoring stays ignored: a handler
 *  would undo `nohup` (the command stopped when the terminal it was meant to outlive closed). */
export function onStop(stop: (signal: NodeJS.Signals) => void): { off(): void } {
  const skip = ignored();
  const heard = INTERRUPTS.filter((s) => !skip.includes(s));
  for (const signal of heard) process.once(signal, stop);
  return {
    off: () => {
      for (const signal of heard) process.off(signal, stop);
    },
  };
}
