// Where `claudemesh dashboard` puts its private redirect page and what it opens it with
// (src/client/local/browser-handoff.ts, docs/dashboard.md): a snap or flatpak default browser gets
// the page inside its own per-user folder, since it cannot read hidden folders of $HOME; the
// default browser's desktop entry is started through gtk-launch before falling back to xdg-open;
// and where the browser is not known the plan says why, so the CLI does not claim success.
import { describe, expect, test } from "bun:test";
import { choosePlan, handoffRoot, sandboxOf, type Probe } from "../../src/client/local/browser-handoff.ts";

const HOME = "/home/u";
const RUN = "/home/u/.claudemesh/run";

/** A machine where exactly `paths` exist and `cmds` are on PATH (as /usr/bin/<cmd>). */
function probe(opts: { paths?: string[]; cmds?: string[]; browser?: string | null; platform?: NodeJS.Platform } = {}): Probe {
  const paths = new Set(opts.paths ?? []);
  const cmds = new Set(opts.cmds ?? ["xdg-open", "xdg-settings"]);
  return {
    platform: opts.platform ?? "linux",
    which: (cmd) => (cmds.has(cmd) ? `/usr/bin/${cmd}` : null),
    exists: (p) => paths.has(p),
    defaultBrowser: async () => opts.browser ?? null,
  };
}

describe("sandboxOf: the sandbox a default browser's desktop id names, confirmed on disk", () => {
  test.each([
    ["snap, by ~/snap/<snap>", "firefox_firefox.desktop", [`${HOME}/snap/firefox`], { kind: "snap", snap: "firefox" }],
    ["snap, by /snap/bin/<snap>", "chromium_chromium.desktop", ["/snap/bin/chromium"], { kind: "snap", snap: "chromium" }],
    ["snap-shaped id, no such snap", "firefox_firefox.desktop", [], null],
    ["flatpak, by ~/.var/app/<app-id>", "org.mozilla.firefox.desktop", [`${HOME}/.var/app/org.mozilla.firefox`], { kind: "flatpak", appId: "org.mozilla.firefox" }],
    ["reverse-DNS id of a native app", "org.gnome.Epiphany.desktop", [], null],
    ["a native browser", "firefox.desktop", [`${HOME}/snap/firefox`, "/snap/bin/firefox"], null],
    ["a path, not an id", "../../etc_x.desktop", ["/snap/bin/..", `${HOME}/snap/..`], null],
  ])("%s", (_, id, paths, sandbox) => {
    expect(sandboxOf(id, HOME, (p) => paths.includes(p))).toEqual(sandbox as ReturnType<typeof sandboxOf>);
  });
});

describe("handoffRoot: a folder the browser can read and other users cannot enter", () => {
  test.each([
    ["snap", { kind: "snap", snap: "firefox" }, `${HOME}/snap/firefox/common/claudemesh-handoff`],
    ["flatpak", { kind: "flatpak", appId: "org.mozilla.firefox" }, `${HOME}/.var/app/org.mozilla.firefox/cache/claudemesh-handoff`],
    ["no sandbox", null, RUN],
  ])("%s", (_, sandbox, root) => {
    expect(handoffRoot(RUN, HOME, sandbox as Parameters<typeof handoffRoot>[2])).toBe(root);
  });
});

describe("choosePlan", () => {
  const plan = (override: string | undefined, p: Probe, desktop = true) => choosePlan({ override, desktop, home: HOME, runDir: RUN }, p);
  const snapRoot = `${HOME}/snap/firefox/common/claudemesh-handoff`;

  test("a snap default browser: its own folder, its desktop entry through gtk-launch, then xdg-open", async () => {
    const p = probe({ browser: "firefox_firefox.desktop", paths: [`${HOME}/snap/firefox`], cmds: ["xdg-open", "gtk-launch"] });
    expect(await plan(undefined, p)).toEqual({ openers: [["/usr/bin/gtk-launch", "firefox_firefox.desktop"], ["/usr/bin/xdg-open"]], root: snapRoot, sweep: [snapRoot, RUN], doubt: null });
  });

  test("a known browser without gtk-launch: xdg-open alone, nothing in doubt", async () => {
    const p = probe({ browser: "google-chrome.desktop" });
    expect(await plan(undefined, p)).toEqual({ openers: [["/usr/bin/xdg-open"]], root: RUN, sweep: [RUN], doubt: null });
  });

  test("no default browser known: today's place and opener, with the doubt said", async () => {
    const got = await plan(undefined, probe({ browser: null, cmds: ["xdg-open", "gtk-launch"] }));
    expect(got).toEqual({ openers: [["/usr/bin/xdg-open"]], root: RUN, sweep: [RUN], doubt: "xdg-settings did not say which browser is the default" });
  });

  test("CLAUDEMESH_BROWSER wins, even without a desktop, and is not second-guessed", async () => {
    const p = probe({ browser: "firefox_firefox.desktop", paths: [`${HOME}/snap/firefox`] });
    const got = await plan("  wslview --x ", p, false);
    expect(got).toMatchObject({ openers: [["wslview", "--x"]], root: RUN, sweep: [RUN] });
    expect((got as { doubt: string }).doubt).toContain("CLAUDEMESH_BROWSER");
  });

  test.each([
    ["no desktop session", undefined, probe(), false, "no desktop session here"],
    ["no xdg-open and no browser known", undefined, probe({ cmds: ["gtk-launch"] }), true, "xdg-open is not installed"],
  ])("%s: a reason, no plan", async (_, override, p, desktop, reason) => {
    expect(await plan(override, p, desktop)).toEqual({ reason: expect.stringContaining(reason) });
  });

  test("macOS: open, the run directory", async () => {
    expect(await plan(undefined, probe({ platform: "darwin" }))).toEqual({ openers: [["open"]], root: RUN, sweep: [RUN], doubt: null });
  });
});
