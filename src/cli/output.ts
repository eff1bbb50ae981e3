// How every command talks to the user. Human mode: results on stdout, progress and errors on
// stderr, colour and spinners only on a terminal. --json: exactly one JSON document on stdout
// (the result, or {"error":{code, message, fix?}}), nothing decorative anywhere. Errors map once
// to exit codes.
import { ERRORS, Exit, MeshError } from "../protocol/errors.ts";
import { mayHaveBeenStored, SendError } from "../client/send-error.ts";
import { LocalFileError, unworded } from "../local-file/error.ts";
import { BrokerUrlError } from "../client/broker-url.ts";
import { stripInvisible } from "../client/untrusted-text.ts";
import { refusalFix } from "../client/refusal-fix.ts";

export class UsageError extends Error {
  override readonly name = "UsageError";
  /** The next step; when null, the command's --help. */
  readonly fix: string | null;
  constructor(message: string, options: ErrorOptions & { fix?: string } = {}) {
    super(message, options);
    this.fix = options.fix ?? null;
  }
}

/** A refusal with its own code, exit code and next step, for a command whose failures are no
 *  wire error, usage error or local file (`upgrade`: a release server, a checksum, a directory
 *  it may not write). `code` is the `error.code` of --json. */
export class CommandError extends Error {
  override readonly name = "CommandError";
  constructor(
    readonly code: string,
    message: string,
    readonly exit: number,
    readonly fix: string | null = null,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export type Output = {
  readonly json: boolean;
  /** Prints the command's result: `human` in human mode, `data` as JSON in --json mode. Resolves
   *  as writeStdout does: true once stdout took it. `meshInText`: `human` names the mesh on each
   *  of its lines already (src/cli/mesh-named.ts namingMesh). */
  result(data: unknown, human: () => string, opts?: { meshInText?: boolean }): Promise<boolean>;
  /** A progress or hint line on stderr (human mode only). */
  note(line: string): void;
  /** Something the user should act on although the command succeeded: on stderr in both modes
   *  (stdout stays the result alone), made terminal-safe. */
  warn(text: string): void;
  /** Runs `work` with a spinner on stderr when stderr is a terminal. */
  wait<T>(label: string, work: Promise<T>): Promise<T>;
};

/** Why stdout stopped taking output (null while every write completed); nothing more is
 *  written after it. */
let failure: NodeJS.ErrnoException | null = null;
/** The latest write: writes complete in order, so once it settles every earlier one has. */
let latest: Promise<boolean> = Promise.resolve(true);
/** Set by abandonStdout: nothing more is written, and nothing more is waited for. */
let abandoned = false;
/** The writes stdout has not taken yet, each settled false by abandonStdout. */
const unsettled = new Set<(taken: boolean) => void>();

/** True when stdout failed because its reader went away (`| head` quit): the reader asked for no
 *  more, which is not an error. Any other failure (ENOSPC on a full disk, EIO) is. */
const readerGone = (err: NodeJS.ErrnoException | null): boolean => err?.code === "EPIPE";

/** Writes to stdout. Resolves true once stdout has taken all of `text` (the write completed: for a
 *  pipe, it is in the pipe), false when it could not (the reader went away, the disk is full):
 *  nothing more is written then. Never rejects. What must not count as seen unless it was (inbox's
 *  acks) awaits it; every exit waits for all writes (exitFlushed), since process.exit drops what
 *  a slow reader (`| less`) has not taken yet. */
export function writeStdout(text: string): Promise<boolean> {
  if (failure || abandoned) return Promise.resolve(false);
  // Without a listener, a failed write is thrown as an uncaught error (a stack trace, exit 1).
  if (process.stdout.listenerCount("error") === 0) process.stdout.on("error", (err) => void (abandoned || (failure ??= err)));
  latest = new Promise<boolean>((resolve) => {
    const settle = (taken: boolean) => {
      unsettled.delete(settle);
      resolve(taken);
    };
    unsettled.add(settle);
    process.stdout.write(text, (err) => {
      if (err && !abandoned) failure ??= err;
      settle(!err && !abandoned);
    });
  });
  return latest;
}

/** For a command stopped by a signal: a write stdout has not taken yet is not waited for (its
 *  reader may have paused for good, `| less` left on a page, or be a terminal that is gone): it
 *  counts as not taken (its writeStdout resolves false now, so inbox leaves its message unread),
 *  nothing more is written, and exitFlushed exits at once, without a word about stdout. A write
 *  given up may still reach a reader that goes on before the exit: its message is then shown
 *  again by the next read, never lost. */
export function abandonStdout(): void {
  abandoned = true;
  for (const settle of [...unsettled]) settle(false);
  latest = Promise.resolve(false);
}

/** Settles once every write so far has completed or failed (or was given up: abandonStdout). */
export const stdoutFlushed = (): Promise<void> => latest.then(() => {});

/** process.exit once stdout is flushed. A write that failed for another reason than its reader
 *  going away is reported on stderr, and a command that otherwise succeeded exits 5 (refused by
 *  local state, like a local file that cannot be used): its output is lost, its effect stands. */
export async function exitFlushed(code: number): Promise<never> {
  await stdoutFlushed();
  if (failure && !readerGone(failure)) {
    process.stderr.write(`claudemesh: could not write the output to stdout: ${failure.message}\n`);
    process.stderr.write("  fix: send stdout where it can be written; what the command did (a message sent, a setting changed) stands, only its output was lost\n");
    process.exit(code === 0 ? Exit.refused : code);
  }
  process.exit(code);
}

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

export function createOutput(opts: { json: boolean; interactive: boolean }): Output {
  return {
    json: opts.json,
    result(data, human) {
      return writeStdout(opts.json ? JSON.stringify(data, null, 2) + "\n" : terminalSafe(human()) + "\n");
    },
    note(line) {
      if (!opts.json) process.stderr.write(line + "\n");
    },
    warn(text) {
      process.stderr.write(`claudemesh: warning: ${terminalSafe(text)}\n`);
    },
    async wait(label, work) {
      if (opts.json || !opts.interactive) return work;
      let i = 0;
      const timer = setInterval(() => process.stderr.write(`\r${FRAMES[i++ % FRAMES.length]} ${label}`), 80);
      try {
        return await work;
      } finally {
        clearInterval(timer);
        process.stderr.write("\r\x1b[2K");
      }
    },
  };
}

type Described = { code: string; message: string; exit: number; fix: string | null };

/** Where withFix keeps a fix on an error. */
const ADDED_FIX = Symbol("claudemesh.fix");

/** `err`, given `fix` as its next step: for a fix known only where the error is caught (the mesh
 *  whose broker could not be reached, and the --mesh its command takes), not where it was made.
 *  Reported when the error has no fix of its own (refusalFix). Returns `err` itself, so that
 *  whoever tells errors apart by class (NotSentError: nothing was sent) still can. */
export function withFix<E extends Error>(err: E, fix: string): E {
  return Object.assign(err, { [ADDED_FIX]: fix });
}

/** The fix withFix gave `err`, if any. */
export const addedFix = (err: unknown): string | null => {
  const fix = err instanceof Error ? (err as { [ADDED_FIX]?: unknown })[ADDED_FIX] : undefined;
  return typeof fix === "string" ? fix : null;
};

/** `text` without ANSI colour codes (citty colours parts of its messages and help). */
export const plain = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, "");

/** Longest error message printed: a broker's words are shown, and a hostile broker's need a bound. */
const MAX_SHOWN_MESSAGE = 2000;

/** Text fit for a terminal: no escape sequences, other control characters (line breaks and tabs
 *  kept) or bidirectional overrides. Peers' bodies, names and summaries and a broker's words reach
 *  the screen; they must not clear it, retitle the window or reorder what it shows. */
export function terminalSafe(text: string): string {
  return stripInvisible(plain(text));
}

/** An error message fit for a terminal (terminalSafe), cut at MAX_SHOWN_MESSAGE. */
export function printable(text: string): string {
  const clean = terminalSafe(text);
  return clean.length > MAX_SHOWN_MESSAGE ? `${clean.slice(0, MAX_SHOWN_MESSAGE)}…` : clean;
}

/** `claudemesh <command> --help`, for the command that failed when known (`topic post`). */
export const helpFix = (commandPath: string | undefined) => `see \`claudemesh ${commandPath ? `${commandPath} ` : ""}--help\``;

function describe(err: unknown, commandPath?: string): Described {
  if (mayHaveBeenStored(err)) {
    const fix = `the broker may have stored it: to send it again without a duplicate, run the same command with --client-message-id ${err.clientMessageId}`;
    return { code: err.code, message: err.message, exit: ERRORS[err.code].exit, fix };
  }
  if (err instanceof MeshError) return { code: err.code, message: err.message, exit: ERRORS[err.code].exit, fix: refusalFix(err) ?? addedFix(err) };
  if (err instanceof UsageError) return { code: "usage", message: err.message, exit: Exit.usage, fix: err.fix ?? helpFix(commandPath) };
  if (err instanceof BrokerUrlError) return { code: "usage", message: err.message, exit: Exit.usage, fix: null };
  if (err instanceof CommandError) return { code: err.code, message: err.message, exit: err.exit, fix: err.fix };
  const local = err instanceof LocalFileError ? err : unworded(err);
  if (local) return { code: "local_config", message: local.message, exit: Exit.refused, fix: local.fix };
  return { code: "internal", message: (err as Error)?.message ?? String(err), exit: Exit.internal, fix: "run again with CLAUDEMESH_DEBUG=1 and report it if it repeats" };
}

/** Prints an error the way the mode wants and returns the exit code. `commandPath` (`topic post`)
 *  names the command whose --help a usage error points to. */
export function reportError(err: unknown, json: boolean, debug = false, commandPath?: string): number {
  const d = describe(err, commandPath);
  const message = printable(d.message);
  const retry = err instanceof SendError ? { clientMessageId: err.clientMessageId } : {};
  // The fix is what a script's user needs as much as a person at a terminal does.
  const fix = d.fix ? { fix: d.fix } : {};
  if (json) writeStdout(JSON.stringify({ error: { code: d.code, message, ...fix, ...retry } }, null, 2) + "\n");
  else {
    process.stderr.write(`claudemesh: ${message}\n`);
    if (d.fix) process.stderr.write(`  fix: ${d.fix}\n`);
  }
  if (debug && err instanceof Error && err.stack) process.stderr.write(err.stack + "\n");
  return d.exit;
}

/** Free text given as the last positional: every word from `from` on, so that an unquoted
 *  `claudemesh send bob hello world` sends "hello world", not "hello" (citty keeps one word per
 *  positional and drops the rest). `fallback` is citty's own value, when `_` is absent. */
export function restText(args: { _?: string[] }, from: number, fallback: string | undefined): string {
  const words = args._?.slice(from) ?? [];
  return words.length > 0 ? words.join(" ") : (fallback ?? "");
}
