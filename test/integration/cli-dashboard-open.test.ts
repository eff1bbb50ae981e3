// `claudemesh dashboard` and the secret in its link (docs/dashboard.md, docs/security.md "The web
// dashboard"): the link carries the member's secret key, so it is never put on a command line (the
// browser gets a private redirect file, removed after a while), printed only with --no-open and
// then under a warning that says the keys never expire, and a missing browser is said, not papered
// over by printing the link. The opener is a fake named by CLAUDEMESH_BROWSER, or fakes of
// xdg-open, xdg-settings and gtk-launch as the only commands on PATH, with a fake HOME holding a
// snap's or a flatpak's folder (a snap or flatpak default browser gets the page in its own folder).
// Every call sets CLAUDEMESH_BROWSER, so a developer's own never opens a real browser here.
// A stop (Ctrl-C, SIGTERM, SIGHUP) during the handoff opens nothing more: the page would find the
// dashboard stopped (Session 37, "the CLI's leftovers").
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative } from "node:path";
import { startBroker, type TestBroker } from "../helpers/broker.ts";
import { MAIN, cli, cliStream, dashboardOnce, ok, until } from "../helpers/cli.ts";
import { loadConfig } from "../../src/client/local/config-file.ts";
import { parseDashboardFragment } from "../../src/client/dashboard-link.ts";
import { handOffLink } from "../../src/client/local/browser-handoff.ts";

const root = mkdtempSync(join(tmpdir(), "cm-dash-open-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let broker: TestBroker;
let alice: string;
let secretKey: string;
beforeAll(async () => {
  broker = await startBroker();
  alice = join(root, "alice");
  ok(await cli(alice, ["new", "Team", "--broker", broker.url, "--display-name", "alice"]));
  secretKey = loadConfig(alice).meshes[0]!.secretKey;
});
afterAll(() => broker?.[Symbol.asyncDispose]());

let n = 0;
/** A fake browser that records its argv (one argument per line) and exits with `code`; with
 *  `sleepS`, only after that many seconds, and `done()` says it got that far. */
function fakeOpener(code = 0, name = `opener-${++n}.sh`, sleepS = 0): { path: string; argv(): string[]; done(): boolean } {
  const path = join(root, name);
  const log = `${path}.argv`;
  const wait = sleepS ? `sleep ${sleepS}\n: > '${log}.done'\n` : "";
  writeFileSync(path, `#!/bin/sh\nprintf '%s\\n' "$@" > '${log}'\n${wait}exit ${code}\n`);
  chmodSync(path, 0o755);
  return { path, argv: () => (existsSync(log) ? readFileSync(log, "utf8").trimEnd().split("\n") : []), done: () => existsSync(`${log}.done`) };
}

/** The environment of every call: never the developer's CLAUDEMESH_BROWSER ("" is unset). */
const env = (extra: Record<string, string> = {}) => ({ CLAUDEMESH_BROWSER: "", ...extra });

/** A Linux desktop whose PATH holds only fakes (so no real xdg-open, xdg-settings or gtk-launch
 *  can run): xdg-open and, when given, xdg-settings naming `browser` and gtk-launch exiting
 *  `gtk`. HOME is a fresh directory with `homeDirs` in it. `slowS`: xdg-settings and gtk-launch
 *  take that long (xdg-settings makes `asked` first). */
function fakeDesktop(opts: { browser?: string; gtk?: number; homeDirs?: string[]; slowS?: number } = {}) {
  const base = mkdtempSync(join(root, "desktop-"));
  const bin = join(base, "bin");
  const home = join(base, "home");
  mkdirSync(bin);
  // The page's removal runs `sleep` and `rm` from PATH; only they are real here.
  for (const cmd of ["sleep", "rm"]) symlinkSync(Bun.which(cmd)!, join(bin, cmd));
  for (const d of opts.homeDirs ?? []) mkdirSync(join(home, d), { recursive: true });
  const xdgOpen = fakeOpener(0, relative(root, join(bin, "xdg-open")));
  const gtkLaunch = opts.gtk === undefined ? null : fakeOpener(opts.gtk, relative(root, join(bin, "gtk-launch")), opts.slowS);
  const asked = join(base, "asked");
  if (opts.browser) {
    const slow = opts.slowS ? `: > '${asked}'\nsleep ${opts.slowS}\n` : "";
    writeFileSync(join(bin, "xdg-settings"), `#!/bin/sh\n${slow}[ "$1 $2" = "get default-web-browser" ] && echo '${opts.browser}'\n`);
    chmodSync(join(bin, "xdg-settings"), 0o755);
  }
  return { home, xdgOpen, gtkLaunch, asked: () => existsSync(asked), env: env({ CI: "", DISPLAY: ":99", WAYLAND_DISPLAY: "", HOME: home, PATH: bin }) };
}

/** A link to the page served by `claudemesh dashboard` itself on 127.0.0.1, never the broker's. */
const LOCAL_LINK = /^http:\/\/127\.0\.0\.1:\d+\/#login=/;
const handoffs = (cfg: string) => (existsSync(join(cfg, "run")) ? readdirSync(join(cfg, "run")).filter((f) => f.startsWith("handoff-")) : []);
const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);
/** The URL a redirect page replaces itself with. */
const redirectOf = (html: string) => JSON.parse(/location\.replace\(("[^"]+")\)/.exec(html)![1]!) as string;

describe("claudemesh dashboard --no-open", () => {
  test("prints the link first, then that its keys never expire and must not be shared", async () => {
    const r = await dashboardOnce(alice, ["--no-open"], { env: env() });
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(LOCAL_LINK);
    expect(lines.slice(1).join("\n")).toContain("the login in this link works once, within 5 minutes");
    expect(r.stdout).toContain("WARNING: this link also carries your secret member key and the mesh keys, which never expire");
    expect(r.stdout).toContain("act as the mesh owner (read, post, invite, remove members) for the life of the mesh");
    expect(r.stdout).toContain("never paste it");
    expect(r.stdout).not.toContain("the link works once");
    expect(lines.at(-1)).toMatch(/^Served from this machine at http:\/\/127\.0\.0\.1:\d+\/ \(the broker never gets the page's keys\), until you press Ctrl-C\.$/);
    const json = (await dashboardOnce(alice, ["--no-open", "--json"], { env: env() })).json();
    expect(json).toMatchObject({ opened: false, withKeys: true, broker: broker.url });
    expect(json.url).toStartWith(`${json.local}#login=`);
    expect(json.warning).toContain("never expire");
    expect(parseDashboardFragment(new URL(json.url).hash)?.keys?.secretKey).toBe(secretKey);
  }, 30_000);
});

describe("claudemesh dashboard (opening a browser)", () => {
  test("the opener gets a private file's path, never the link; the file redirects to the link; nothing secret is printed", async () => {
    const opener = fakeOpener();
    const r = await dashboardOnce(alice, [], { env: env({ CLAUDEMESH_BROWSER: opener.path }) });
    expect(r.code).toBe(0);
    const argv = opener.argv();
    expect(argv).toHaveLength(1);
    const file = argv[0]!;
    expect(dirname(dirname(file))).toBe(join(alice, "run"));
    for (const text of [argv.join(" "), r.stdout, r.stderr]) {
      expect(text).not.toContain(secretKey);
      expect(text).not.toContain("#login=");
    }
    // claudemesh cannot know what CLAUDEMESH_BROWSER starts, so it does not claim the page opened.
    expect(r.stdout).toContain(`handed to ${basename(opener.path)} to open in your browser`);
    expect(r.stdout).toContain("Not confirmed: claudemesh cannot tell whether the browser CLAUDEMESH_BROWSER starts can read");
    expect(r.stdout).toContain("never expire");
    expect([mode(file), mode(dirname(file))]).toEqual(["600", "700"]);
    const url = redirectOf(readFileSync(file, "utf8"));
    expect(url).toMatch(LOCAL_LINK);
    expect(parseDashboardFragment(new URL(url).hash)?.keys?.secretKey).toBe(secretKey);

    const json = ok(await dashboardOnce(alice, ["--json"], { env: env({ CLAUDEMESH_BROWSER: opener.path }) })).json();
    expect(json).toMatchObject({ opened: true, withKeys: true });
    expect(JSON.stringify(json)).not.toContain(secretKey);
    expect(json.url).toBeUndefined();
  }, 30_000);

  // Linux only: on macOS the opener is `open`, whatever is on PATH, and would start a real browser.
  test.skipIf(process.platform !== "linux")("on a desktop whose default browser is unknown, xdg-open gets the file and the doubt is said; with --no-open nothing is opened", async () => {
    const desk = fakeDesktop();
    const r = ok(await dashboardOnce(alice, [], { env: desk.env }));
    expect(desk.xdgOpen.argv()).toHaveLength(1);
    expect(desk.xdgOpen.argv()[0]).toStartWith(join(alice, "run", "handoff-"));
    expect(r.stdout).toContain("handed to xdg-open to open in your browser");
    expect(r.stdout).toContain("Not confirmed: xdg-settings did not say which browser is the default.");
    expect(r.stdout).toContain("claudemesh dashboard --no-open");
    expect(r.stdout).toContain("CLAUDEMESH_BROWSER");
    rmSync(`${desk.xdgOpen.path}.argv`);
    const printed = ok(await dashboardOnce(alice, ["--no-open"], { env: desk.env }));
    expect(printed.stdout).toMatch(LOCAL_LINK);
    expect(desk.xdgOpen.argv()).toEqual([]);
  }, 30_000);

  test.skipIf(process.platform !== "linux").each([
    ["a snap default browser: the page in ~/snap/<snap>/common", { browser: "firefox_firefox.desktop", homeDirs: ["snap/firefox"] }, "snap/firefox/common/claudemesh-handoff", "xdg-open"],
    ["a flatpak default browser: the page in ~/.var/app/<id>/cache, started through gtk-launch", { browser: "org.mozilla.firefox.desktop", homeDirs: [".var/app/org.mozilla.firefox"], gtk: 0 }, ".var/app/org.mozilla.firefox/cache/claudemesh-handoff", "gtk-launch"],
    ["gtk-launch failing: xdg-open after it", { browser: "chromium_chromium.desktop", homeDirs: ["snap/chromium"], gtk: 1 }, "snap/chromium/common/claudemesh-handoff", "xdg-open"],
    ["a browser without a sandbox: the run directory", { browser: "google-chrome.desktop", homeDirs: ["snap/google-chrome"] }, null, "xdg-open"],
  ])("%s; 0700/0600, no secret on argv, said to be opened", async (_, row, where, via) => {
    const desktop = row as { browser: string; homeDirs: string[]; gtk?: number };
    const desk = fakeDesktop(desktop);
    const r = await dashboardOnce(alice, [], { env: desk.env });
    expect(r.code).toBe(0);
    const argv = via === "gtk-launch" ? desk.gtkLaunch!.argv() : desk.xdgOpen.argv();
    const file = argv.at(-1)!;
    expect(argv).toEqual(via === "gtk-launch" ? [desktop.browser, file] : [file]);
    if (desktop.gtk === 1) expect(desk.gtkLaunch!.argv()).toEqual([desktop.browser, file]);
    if (via === "gtk-launch") expect(desk.xdgOpen.argv()).toEqual([]);
    const rootDir = where ? join(desk.home, where) : join(alice, "run");
    expect(dirname(dirname(file))).toBe(rootDir);
    expect(basename(dirname(file))).toStartWith("handoff-");
    expect([mode(file), mode(dirname(file)), mode(rootDir)]).toEqual(["600", "700", "700"]);
    expect(parseDashboardFragment(new URL(redirectOf(readFileSync(file, "utf8"))).hash)?.keys?.secretKey).toBe(secretKey);
    for (const text of [argv.join(" "), r.stdout, r.stderr]) {
      expect(text).not.toContain(secretKey);
      expect(text).not.toContain("#login=");
    }
    expect(r.stdout).toContain("opened in your browser");
    expect(r.stdout).not.toContain("Not confirmed");
  }, 30_000);

  test("a handoff left behind (its removal never ran) is swept by the next run", async () => {
    const opener = fakeOpener();
    ok(await dashboardOnce(alice, [], { env: env({ CLAUDEMESH_BROWSER: opener.path }) }));
    const old = dirname(opener.argv()[0]!);
    const past = new Date(Date.now() - 10 * 60_000);
    utimesSync(old, past, past);
    ok(await dashboardOnce(alice, [], { env: env({ CLAUDEMESH_BROWSER: opener.path }) }));
    expect(existsSync(old)).toBe(false);
    expect(existsSync(opener.argv()[0]!)).toBe(true);
  }, 30_000);

  test("the sweep covers the run directory and a sandbox's folder; a missing one is skipped", async () => {
    const [sandbox, runDir] = [join(root, "sweep-sandbox"), join(root, "sweep-run")];
    const past = new Date(Date.now() - 10 * 60_000);
    const stale = [join(sandbox, "handoff-old"), join(runDir, "handoff-old")];
    for (const d of stale) {
      mkdirSync(d, { recursive: true });
      utimesSync(d, past, past);
    }
    const r = await handOffLink("http://127.0.0.1:1/#login=secret", { root: sandbox, sweep: [sandbox, runDir, join(root, "nonexistent")], openers: [[fakeOpener().path]] });
    expect(r.opened).toBe(true);
    expect(stale.map(existsSync)).toEqual([false, false]);
  }, 30_000);

  test("the redirect file is removed after the keep time, by a process that outlives the caller", async () => {
    const runDir = join(root, "handoff-run");
    const opener = fakeOpener();
    const r = await handOffLink("http://127.0.0.1:1/#login=secret", { root: runDir, sweep: [runDir], openers: [[opener.path]] }, { keepMs: 1000 });
    expect(r.opened).toBe(true);
    const file = (r as { file: string }).file;
    expect(opener.argv()).toEqual([file]);
    expect(existsSync(file)).toBe(true);
    await until(() => !existsSync(dirname(file)), "the redirect file's directory removed");
  }, 30_000);

  test.each([
    ["no desktop session and no CLAUDEMESH_BROWSER", {}, "no desktop session here"],
    ["an opener that does not exist", { CLAUDEMESH_BROWSER: "/nonexistent/browser" }, "/nonexistent/browser could not be started"],
    ["an opener that fails", { CLAUDEMESH_BROWSER: "FAILING" }, "opener-fail.sh failed (exit code 3)"],
  ])("%s: exit 2, the link is not printed, --no-open is offered, no file is left", async (_, extra, reason) => {
    const cfgEnv = env(extra as Record<string, string>);
    if (cfgEnv.CLAUDEMESH_BROWSER === "FAILING") cfgEnv.CLAUDEMESH_BROWSER = fakeOpener(3, "opener-fail.sh").path;
    const before = handoffs(alice);
    const r = await dashboardOnce(alice, [], { env: cfgEnv });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toStartWith("claudemesh: No browser was opened: ");
    expect(r.stderr).toContain(reason as string);
    expect(r.stderr).toContain("claudemesh dashboard --no-open");
    expect(r.stderr).not.toContain("#login=");
    expect(handoffs(alice).filter((d) => !before.includes(d))).toEqual([]);
  }, 30_000);
});

// What an opener would do comes 2 s after it starts; a stop comes before that, and the test waits
// 3 s more to see that nothing was opened.
describe.skipIf(process.platform !== "linux")("claudemesh dashboard stopped during the browser handoff", () => {
  const STOPPED = "Stopped before the browser was opened; nothing was left for it to open.\n";

  test("SIGTERM while the default browser is looked up: no opener is run, exit 0", async () => {
    const desk = fakeDesktop({ browser: "google-chrome.desktop", slowS: 2 });
    await using s = cliStream(alice, ["dashboard"], { env: desk.env });
    await until(desk.asked, "the dashboard to ask xdg-settings for the default browser");
    s.proc.kill("SIGTERM");
    await s.finished();
    await Bun.sleep(3000);
    expect({ code: s.proc.exitCode, stdout: s.stdout(), stderr: s.stderr(), opened: desk.xdgOpen.argv() }).toEqual({ code: 0, stdout: "", stderr: STOPPED, opened: [] });
  }, 30_000);

  // Ctrl-C in a terminal reaches every process of its foreground group: the opener dies of it too
  // (setsid gives the dashboard a group of its own to send it to).
  test("Ctrl-C while gtk-launch runs: xdg-open is not tried after it, the page is removed, exit 0", async () => {
    const desk = fakeDesktop({ browser: "org.mozilla.firefox.desktop", homeDirs: [".var/app/org.mozilla.firefox"], gtk: 0, slowS: 2 });
    await using s = cliStream(alice, ["dashboard"], { env: desk.env, command: [Bun.which("setsid")!, process.execPath, "run", MAIN] });
    await until(() => desk.gtkLaunch!.argv().length > 0, "gtk-launch to be started");
    process.kill(-s.proc.pid, "SIGINT");
    await s.finished();
    await Bun.sleep(3000);
    const file = desk.gtkLaunch!.argv().at(-1)!;
    expect({ code: s.proc.exitCode, stdout: s.stdout(), stderr: s.stderr(), gtkDone: desk.gtkLaunch!.done(), xdgOpen: desk.xdgOpen.argv(), page: existsSync(dirname(file)) }).toEqual({
      code: 0,
      stdout: "",
      stderr: STOPPED,
      gtkDone: false,
      xdgOpen: [],
      page: false,
    });
  }, 30_000);

  test("SIGTERM to the dashboard alone while CLAUDEMESH_BROWSER's opener runs: the opener is stopped before it opens, the page is removed, exit 0", async () => {
    const opener = fakeOpener(0, "opener-slow.sh", 2);
    await using s = cliStream(alice, ["dashboard"], { env: env({ CLAUDEMESH_BROWSER: opener.path }) });
    await until(() => opener.argv().length > 0, "the opener to be started");
    s.proc.kill("SIGTERM");
    await s.finished();
    await Bun.sleep(3000);
    const file = opener.argv()[0]!;
    expect({ code: s.proc.exitCode, stdout: s.stdout(), stderr: s.stderr(), openerDone: opener.done(), page: existsSync(dirname(file)) }).toEqual({ code: 0, stdout: "", stderr: STOPPED, openerDone: false, page: false });
  }, 30_000);
});
