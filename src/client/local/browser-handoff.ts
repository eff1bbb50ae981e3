// Opening a link that carries secrets (the dashboard's, with the member key in its #fragment) in
// the desktop's browser without putting it on any command line: a process's argv is readable by
// every local user (/proc/<pid>/cmdline, `ps`) while it runs, and `xdg-open` hands its argument on
// to the browser's. The link goes into a private redirect page instead — 0600, in a fresh 0700
// directory inside claudemesh's own run directory, the protection config.json (which holds the
// same key) already has — and the opener is given only that file's path.
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { ensurePrivateDir, writePrivateFile } from "./files.ts";

/** How long a redirect page stays: long enough for a browser to start cold on a slow machine and
 *  read it (it is read once, at once, by a running browser); then the directory is removed by a
 *  detached `sh`, or by the next handoff if that one did not run (a reboot, a killed session). Its
 *  protection is the config file's, so a longer stay costs tidiness, not exposure. */
export const HANDOFF_KEEP_MS = 60_000;

/** How long to watch the opener for a failure: `xdg-open` with no browser configured exits non-zero
 *  at once, while one that starts the browser itself may run until the browser exits. */
const OPENER_WATCH_MS = 3000;

const PREFIX = "handoff-";

export type HandoffResult = { opened: true; file: string } | { opened: false; reason: string };

/** The command that opens a file in the browser (the file's path is appended): CLAUDEMESH_BROWSER
 *  split on whitespace when set (used even without a desktop session: WSL's `wslview`, a test);
 *  otherwise `open` on macOS, `xdg-open` on a Linux desktop. `{ reason }` when there is none. */
export function browserCommand(override: string | undefined, desktop: boolean): { argv: string[] } | { reason: string } {
  const words = override?.trim().split(/\s+/).filter(Boolean) ?? [];
  if (words.length) return { argv: words };
  if (!desktop) return { reason: "no desktop session here (no DISPLAY or WAYLAND_DISPLAY, an SSH login, or CI)" };
  if (process.platform === "darwin") return { argv: ["open"] };
  const xdg = Bun.which("xdg-open");
  return xdg ? { argv: [xdg] } : { reason: "xdg-open is not installed" };
}

/** Writes the redirect page for `url` under `runDir`, starts `opener` on its path, and schedules
 *  the page's removal after `keepMs`. Resolves `{opened: false, reason}` (page already removed)
 *  when the opener cannot be started or fails within OPENER_WATCH_MS; never throws for that. */
export async function handOffLink(url: string, opts: { runDir: string; opener: readonly string[]; keepMs?: number; nowMs?: number }): Promise<HandoffResult> {
  const keepMs = opts.keepMs ?? HANDOFF_KEEP_MS;
  ensurePrivateDir(opts.runDir);
  sweep(opts.runDir, keepMs, opts.nowMs ?? Date.now());
  const dir = mkdtempSync(join(opts.runDir, PREFIX)); // 0700, a name nobody else chose
  const file = join(dir, "dashboard.html");
  writePrivateFile(file, redirectPage(url));
  const name = opts.opener[0]!;
  let code: number | null;
  try {
    const proc = Bun.spawn([...opts.opener, file], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
    code = await Promise.race([proc.exited, Bun.sleep(OPENER_WATCH_MS).then(() => null)]);
    proc.unref();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    return { opened: false, reason: `${name} could not be started (${(err as Error).message})` };
  }
  if (code !== null && code !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return { opened: false, reason: `${name} failed (exit code ${code})` };
  }
  scheduleRemoval(dir, keepMs);
  return { opened: true, file };
}

/** A page that replaces itself with `url`, fragment included (`location.replace`, so Back does not
 *  return to it); a meta refresh when scripts are off. No Referer leaves it either way. */
function redirectPage(url: string): string {
  const js = JSON.stringify(url).replace(/</g, "\\u003c");
  const attr = url.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  return `<!doctype html>
<html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer"><title>claudemesh dashboard</title>
<script>location.replace(${js});</script>
<noscript><meta http-equiv="refresh" content="0;url=${attr}"></noscript>
</head><body>Opening the claudemesh dashboard…</body></html>
`;
}

/** Removes `dir` after `keepMs` from a detached `sh`, which outlives this process (the CLI exits
 *  at once) and a closed terminal. If it cannot start, the next handoff's sweep removes `dir`. */
function scheduleRemoval(dir: string, keepMs: number): void {
  try {
    const script = 'sleep "$1"; rm -rf -- "$2"';
    Bun.spawn(["/bin/sh", "-c", script, "claudemesh-handoff-cleanup", String(Math.ceil(keepMs / 1000)), dir], { stdin: "ignore", stdout: "ignore", stderr: "ignore", detached: true }).unref();
  } catch {}
}

/** Removes earlier handoff directories older than `keepMs` (their removal did not run). */
function sweep(runDir: string, keepMs: number, nowMs: number): void {
  for (const name of readdirSync(runDir)) {
    if (!name.startsWith(PREFIX)) continue;
    const path = join(runDir, name);
    try {
      if (nowMs - statSync(path).mtimeMs > keepMs) rmSync(path, { recursive: true, force: true });
    } catch {} // removed meanwhile by its own cleanup
  }
}
