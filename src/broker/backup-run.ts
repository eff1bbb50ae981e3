// One scheduled backup, run as `claudemesh admin backup --out FILE --json` in a child process: the
// same code, checks and names as an operator's backup (backup.ts), and nothing of it on the
// broker's thread. VACUUM INTO, integrity_check and the audit chains are synchronous SQLite work
// of seconds on a big database (7.5 s for 300 MB: docs/operations.md); in the broker's process
// they would stop every socket for that long. A child also dies whole when the drain cancels it.
import { rmSync } from "node:fs";
import { interruptedBy } from "../local-file/interrupt.ts";

/** What the child said: its result (backup.ts BackupResult, as --json prints it) or its error. */
export type RunOutcome =
  | { ok: true; file: string; bytes: number; sha256: string; meshes: number; messages: number }
  | { ok: false; code: string; message: string; fix: string | null; cancelled: boolean };

export type BackupRun = { done: Promise<RunOutcome>; cancel(): void };

/** The tail of a child's stderr kept for a failure that printed no JSON (a crash). */
const STDERR_TAIL = 2000;

/** Starts `command admin backup` (command: how this claudemesh runs, cli launcher()) of `dataDir`
 *  into `out`. `done` never rejects. `cancel` kills the child (SIGKILL: nothing of it runs on)
 *  and `done` then reports `cancelled`. A child that died by a signal (cancelled, or killed by
 *  anything else) leaves no `<out>.partial`: it is removed here, since no check judged it; a
 *  copy the child kept after a failed check stays (its message says so). */
export function runBackup(command: readonly string[], dataDir: string, out: string): BackupRun {
  const proc = Bun.spawn([...command, "admin", "backup", "--data-dir", dataDir, "--out", out, "--json"], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let cancelled = false;
  const done = (async (): Promise<RunOutcome> => {
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    // Killed, or ended by SIGINT, SIGTERM or SIGHUP through its own handler (exit 128+n, its copy
    // already removed): a stop of the service signals every process of its group.
    const signal = proc.signalCode ?? interruptedBy(code);
    if (signal !== null) {
      for (const f of [`${out}.partial`, `${out}.partial-journal`]) rmSync(f, { force: true });
      return { ok: false, code: "killed", message: `the backup process ended by ${signal}${cancelled ? " (the broker is stopping)" : ""}; its unfinished copy was removed`, fix: null, cancelled };
    }
    const said = parse(stdout);
    if (code === 0 && said && typeof said.file === "string") return { ok: true, file: said.file, bytes: Number(said.bytes), sha256: String(said.sha256), meshes: Number(said.meshes), messages: Number(said.messages) };
    const error = said?.error as { code?: string; message?: string; fix?: string } | undefined;
    if (error?.message) return { ok: false, code: error.code ?? "internal", message: error.message, fix: error.fix ?? null, cancelled: false };
    return { ok: false, code: "internal", message: `the backup process exited ${code} without saying why: ${stderr.slice(-STDERR_TAIL).trim() || "(no output)"}`, fix: null, cancelled: false };
  })();
  return {
    done,
    cancel() {
      cancelled = true;
      proc.kill("SIGKILL");
    },
  };
}

function parse(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === "object" ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
