// Opening a link that carries secrets (the dashboard's, with the member key in its #fragment) in
// the desktop's browser without putting it on any command line: a process's argv is readable by
// every local user (/proc/<pid>/cmdline, `ps`) while it runs, and `xdg-open` hands its argument on
// to the browser's. The link goes into a private redirect page instead — 0600, in a fresh 0700
// directory that only this user can enter — and the opener is given only that file's path.
//
// Where the page goes depends on the browser. Normally under claudemesh's own run directory, the
// protection config.json (which holds the same key) already has. Snap and flatpak browsers cannot
// read hidden folders of $HOME (nor the host's /tmp), so when the default browser is one of them
// the page goes into that sandbox's own per-user folder, which it can read and other users cannot
// enter: ~/snap/<snap>/common/ or ~/.var/app/<app-id>/cache/.
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { ensurePrivateDir, writePrivateFile } from "./files.ts";
import { signalsHeard } from "../../local-file/interrupt.ts";

/** How long a redirect page stays: long enough for a browser to start cold on a slow machine and
 *  read it (it is read once, at once, by a running browser); then the directory is removed by a
 *  detached `sh`, or by the next handoff if that one did not run (a reboot, a killed session). */
export const HANDOFF_KEEP_MS = 60_000;

/** How long to watch the opener for a failure: `xdg-open` with no browser configured exits non-zero
 *  at once, while one that starts the browser itself may run until the browser exits. */
const OPENER_WATCH_MS = 3000;

/** How long `xdg-settings get default-web-browser` may take (a shell script that runs xdg-mime,
 *  or kreadconfig on KDE) before the default browser counts as unknown. */
const DETECT_TIMEOUT_MS = 3000;

const PREFIX = "handoff-";
/** The folder claudemesh creates (0700) inside a sandboxed browser's own folder. */
const SANDBOX_DIR = "claudemesh-handoff";

/** A freedesktop desktop-file id as xdg-settings prints it; nothing that could leave a directory. */
const DESKTOP_ID = /^[A-Za-z0-9_][\w.+-]*\.desktop$/;
/** snapd names a snap's desktop files `<snap>_<app>.desktop`. */
const SNAP_ID = /^([a-z0-9][a-z0-9-]*)_[A-Za-z0-9][A-Za-z0-9-]*\.desktop$/;
/** A flatpak's desktop file is `<app-id>.desktop`, the id reverse-DNS with at least three parts. */
const FLATPAK_ID = /^([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*){2,})\.desktop$/;

/** Which sandbox the default browser runs in; null for a browser that reads the whole home. */
export type Sandbox = { kind: "snap"; snap: string } | { kind: "flatpak"; appId: string } | null;

/** Pure: the sandbox `desktopId` names, confirmed on disk through `exists` — a snap by
 *  `/snap/bin/<snap>` or `~/snap/<snap>`, a flatpak by `~/.var/app/<app-id>`. A name that only
 *  looks like one (native GNOME apps have reverse-DNS ids too) is a browser without a sandbox. */
export function sandboxOf(desktopId: string, home: string, exists: (path: string) => boolean): Sandbox {
  const snap = SNAP_ID.exec(desktopId)?.[1];
  if (snap && (exists(join("/snap/bin", snap)) || exists(join(home, "snap", snap)))) return { kind: "snap", snap };
  const appId = FLATPAK_ID.exec(desktopId)?.[1];
  if (appId && exists(join(home, ".var", "app", appId))) return { kind: "flatpak", appId };
  return null;
}

/** Pure: the directory that holds the handoff directories for a browser in `sandbox`. */
export function handoffRoot(runDir: string, home: string, sandbox: Sandbox): string {
  if (sandbox?.kind === "snap") return join(home, "snap", sandbox.snap, "common", SANDBOX_DIR);
  if (sandbox?.kind === "flatpak") return join(home, ".var", "app", sandbox.appId, "cache", SANDBOX_DIR);
  return runDir;
}

/** How to open a page: each opener is tried in turn until one starts (the page's path is appended). */
export type OpenPlan = {
  openers: string[][];
  /** Where the page's directory goes (handoffRoot). */
  root: string;
  /** Directories swept of handoffs whose removal never ran: root and the run directory. */
  sweep: string[];
  /** Why claudemesh cannot be sure the browser can read the page; null when it chose the place
   *  for the browser it knows will open it. The CLI says so rather than claim success. */
  doubt: string | null;
};

/** What choosePlan looks at on this machine; a test passes fakes. */
export type Probe = {
  platform: NodeJS.Platform;
  which(cmd: string): string | null;
  exists(path: string): boolean;
  /** The desktop-file id of the default web browser, or null when it cannot be told. */
  defaultBrowser(which: Probe["which"]): Promise<string | null>;
};

export const systemProbe: Probe = { platform: process.platform, which: (cmd) => Bun.which(cmd), exists: existsSync, defaultBrowser: xdgDefaultBrowser };

/** How to open a page in the browser: CLAUDEMESH_BROWSER split on whitespace when set (used even
 *  without a desktop session: WSL's `wslview`, a test; the page stays in the run directory);
 *  otherwise `open` on macOS; on another desktop the default browser's desktop entry through
 *  `gtk-launch`, then `xdg-open`. `{ reason }` when there is nothing to open it with.
 *
 *  Why gtk-launch: `xdg-open` picks the handler of the *file's* type, text/html, which may be an
 *  editor; handing it a `file://` URL changes nothing (both its generic path and `gio open` resolve
 *  a file URL by the file's type). `gtk-launch <desktop-id> <file>` starts exactly the default web
 *  browser, and like xdg-open it only ever sees the page's path. Where it is missing or fails
 *  (not GTK, the id not found) `xdg-open` is tried as before. */
export async function choosePlan(opts: { override: string | undefined; desktop: boolean; home: string; runDir: string }, probe: Probe = systemProbe): Promise<OpenPlan | { reason: string }> {
  const base = { root: opts.runDir, sweep: [opts.runDir] };
  const words = opts.override?.trim().split(/\s+/).filter(Boolean) ?? [];
  if (words.length) return { ...base, openers: [words], doubt: `claudemesh cannot tell whether the browser CLAUDEMESH_BROWSER starts can read ${opts.runDir}` };
  if (!opts.desktop) return { reason: "no desktop session here (no DISPLAY or WAYLAND_DISPLAY, an SSH login, or CI)" };
  if (probe.platform === "darwin") return { ...base, openers: [["open"]], doubt: null };
  const xdg = probe.which("xdg-open");
  const id = await probe.defaultBrowser(probe.which);
  const gtk = id ? probe.which("gtk-launch") : null;
  const openers = [...(gtk && id ? [[gtk, id]] : []), ...(xdg ? [[xdg]] : [])];
  if (!openers.length) return { reason: "xdg-open is not installed" };
  if (!id) return { ...base, openers, doubt: "xdg-settings did not say which browser is the default" };
  const root = handoffRoot(opts.runDir, opts.home, sandboxOf(id, opts.home, probe.exists));
  return { openers, root, sweep: [...new Set([root, opts.runDir])], doubt: null };
}

/** `xdg-settings get default-web-browser` (xdg-utils, beside xdg-open); null when it is missing,
 *  fails, is slow or prints something that is not a desktop-file id. */
async function xdgDefaultBrowser(which: Probe["which"]): Promise<string | null> {
  const cmd = which("xdg-settings");
  if (!cmd) return null;
  try {
    const proc = Bun.spawn([cmd, "get", "default-web-browser"], { stdin: "ignore", stdout: "pipe", stderr: "ignore" });
    const read = Promise.all([new Response(proc.stdout).text(), proc.exited]);
    const done = await within(read, DETECT_TIMEOUT_MS);
    if (!done) proc.kill("SIGKILL");
    const id = done?.[1] === 0 ? done[0].trim() : "";
    return DESKTOP_ID.test(id) ? id : null;
  } catch {
    return null;
  }
}

/** `stopped`: `stop` came first (the caller is stopping: the page would find its server gone). */
export type HandoffResult = { opened: true; file: string; via: string } | { opened: false; reason: string; stopped?: true };

/** Writes the redirect page for `url` in a fresh directory under `plan.root`, starts the first
 *  opener that works on its path, and schedules the directory's removal after `keepMs`. Resolves
 *  `{opened: false, reason}` (page already removed) when no opener can be started or each fails
 *  within OPENER_WATCH_MS; never throws for that. `via` is the opener that took the page. Once
 *  `stop` is aborted no opener is started, the one being watched is sent SIGTERM, and the page is
 *  removed at once: `{opened: false, stopped: true}`. */
export async function handOffLink(url: string, plan: Pick<OpenPlan, "openers" | "root" | "sweep">, opts: { keepMs?: number; nowMs?: number; stop?: AbortSignal } = {}): Promise<HandoffResult> {
  const keepMs = opts.keepMs ?? HANDOFF_KEEP_MS;
  ensurePrivateDir(plan.root);
  for (const dir of plan.sweep) sweep(dir, keepMs, opts.nowMs ?? Date.now());
  const dir = mkdtempSync(join(plan.root, PREFIX)); // 0700, a name nobody else chose
  const file = join(dir, "dashboard.html");
  writePrivateFile(file, redirectPage(url));
  const failures: string[] = [];
  for (const opener of plan.openers) {
    // A terminal's Ctrl-C kills the opener before this one too, and its failure would start this
    // one: the signal's handler is let run first.
    await signalsHeard();
    if (opts.stop?.aborted) break;
    const failure = await start(opener, file, opts.stop);
    if (opts.stop?.aborted) break;
    if (!failure) {
      scheduleRemoval(dir, keepMs);
      return { opened: true, file, via: basename(opener[0]!) };
    }
    failures.push(failure);
  }
  rmSync(dir, { recursive: true, force: true });
  return opts.stop?.aborted ? { opened: false, reason: "stopped", stopped: true } : { opened: false, reason: failures.join("; ") };
}

/** Starts `opener` on `file`; the reason it failed, or null when it started and did not fail
 *  within OPENER_WATCH_MS. `stop` ends the watch at once and sends the opener SIGTERM: an opener
 *  that is slow to hand the file on (a shell script, a browser started cold) then does not. */
async function start(opener: readonly string[], file: string, stop?: AbortSignal): Promise<string | null> {
  let proc: ReturnType<typeof Bun.spawn>;
  try {
    proc = Bun.spawn([...opener, file], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  } catch (err) {
    return `${opener[0]} could not be started (${(err as Error).message})`;
  }
  const { promise: stopped, resolve } = Promise.withResolvers<null>();
  const kill = () => (proc.kill("SIGTERM"), resolve(null));
  stop?.addEventListener("abort", kill, { once: true });
  try {
    const code = await within(Promise.race([proc.exited, stopped]), OPENER_WATCH_MS);
    proc.unref();
    return code !== null && code !== 0 ? `${opener[0]} failed (exit code ${code})` : null;
  } finally {
    stop?.removeEventListener("abort", kill);
  }
}

/** `p`'s value, or null if it takes longer than `ms` (the timer does not outlive the wait). */
async function within<T>(p: Promise<T>, ms: number): Promise<T | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((resolve) => (timer = setTimeout(resolve, ms, null)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
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

/** Removes earlier handoff directories in `root` older than `keepMs` (their removal did not run);
 *  a root that does not exist (yet) has none. */
function sweep(root: string, keepMs: number, nowMs: number): void {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(PREFIX)) continue;
    const path = join(root, name);
    try {
      if (nowMs - statSync(path).mtimeMs > keepMs) rmSync(path, { recursive: true, force: true });
    } catch {} // removed meanwhile by its own cleanup
  }
}
