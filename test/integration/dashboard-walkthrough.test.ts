// The dashboard as a user meets it beyond the happy path (session 26 walkthrough), in chromium on
// the page `claudemesh dashboard` serves: a second link pasted into a tab that already shows the
// page (the browser then changes only the fragment, and loads nothing); the same link opened again
// in a browser that is still signed in, which says the link was used; a page loaded while the
// broker is down, which says so and comes up by itself once the broker is back; a phone-width
// window, where every tab stays inside the screen; and a closed session, offline on the overview
// before the presence grace ends. Pins docs/dashboard.md "Signing in" and "What you see".
import { describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { startBroker } from "../helpers/broker.ts";
import { cli, cliMesh, cliTeam, dashboardServing, identities, ok, sessionOf } from "../helpers/cli.ts";
import { launchBrowser } from "../helpers/browser.ts";

const sel = (id: string) => `[data-testid="${id}"]`;

describe("dashboard walkthrough", () => {
  test("a link pasted into a tab already showing the page signs in, and its fragment leaves the address bar", async () => {
    await using team = await cliTeam(["alice"]);
    await using first = await dashboardServing(team.dirs[0]);
    const { local } = first.json;
    await using br = await launchBrowser(local.slice(0, -1));
    const page = br.page;
    // The tab shows the signed-out page (an earlier link expired, say).
    await page.goto(local);
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    // A fresh link of the same dashboard differs from what the tab shows only after `#`.
    const { url } = first.json;
    await page.goto(url);
    await page.locator(`${sel("peer-row")}[data-name="alice"]`).waitFor({ timeout: 10_000 });
    expect(page.url()).toBe(local);
    expect(br.problems).toEqual([]);
  }, 60_000);

  test("the same link opened again in a browser that is signed in says it was used, above the session it keeps", async () => {
    await using team = await cliTeam(["alice"]);
    await using served = await dashboardServing(team.dirs[0]);
    const { url, local } = served.json;
    await using br = await launchBrowser(local.slice(0, -1));
    await br.page.goto(url);
    await br.page.locator(`${sel("peer-row")}[data-name="alice"]`).waitFor();
    // A second tab of the same browser has the cookie; the link's login is spent.
    const again = await br.newPage();
    await again.goto(url);
    await again.locator(sel("login-error"), { hasText: "already used" }).waitFor({ timeout: 10_000 });
    await again.locator(`${sel("peer-row")}[data-name="alice"]`).waitFor();
    expect(again.url()).toBe(local);
    expect(await again.evaluate(() => sessionStorage.getItem("claudemesh.dashboard.keys"))).toBeNull();
    expect(br.problems).toEqual([]);
  }, 60_000);

  test("loaded while the broker is down: the page says so, not “Loading…” for ever, and comes up when the broker is back", async () => {
    const b1 = await startBroker({}, { keepData: true });
    const { port, dataDir } = b1;
    await using ids = identities(1);
    await cliMesh(b1.url, [[ids.dirs[0]!, "alice"]]);
    await using served = await dashboardServing(ids.dirs[0]!);
    await using br = await launchBrowser(served.json.local.slice(0, -1));
    const page = br.page;
    await page.goto(served.json.url);
    await page.locator(`${sel("peer-row")}[data-name="alice"]`).waitFor();
    await b1.stop();
    await page.reload();
    await page.locator(sel("boot-error"), { hasText: "did not answer" }).waitFor({ timeout: 10_000 });
    await br.shot(page, "walkthrough-broker-down");
    // The broker is back on its port (a restart ends every session): the page finds out by itself.
    const b2 = await startBroker({ port }, { dataDir });
    try {
      await page.getByRole("heading", { name: "Sign in" }).waitFor({ timeout: 20_000 });
      expect(await page.locator(sel("boot-error")).count()).toBe(0);
      expect(br.problems).toEqual([]);
    } finally {
      await b2.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);

  test("at phone width (375 px) every tab stays inside the screen: the tab bar wraps, and a wide table scrolls in its own box", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { b, dirs: [aliceDir, bobDir] } = team;
    ok(await cli(aliceDir, ["invite", "--max-uses", "3"]));
    ok(await cli(aliceDir, ["topic", "post", "general", "a post long enough to wrap on a phone screen, as posts do"]));
    const session = await sessionOf(b.url, bobDir, "/home/bob/src/a-rather-long-project-directory/packages/checkout-service");
    await using served = await dashboardServing(aliceDir);
    await using br = await launchBrowser(served.json.local.slice(0, -1));
    const page = br.page;
    await page.setViewportSize({ width: 375, height: 740 });
    await page.goto(served.json.url);
    await page.locator(`${sel("peer-row")}[data-name="bob/checkout-service"]`).waitFor();
    const tabs = await page.locator("nav button").evaluateAll((els) => els.map((e) => e.getAttribute("data-view")!));
    const overflow: Record<string, unknown> = {};
    for (const tab of tabs) {
      await page.click(sel(`tab-${tab}`));
      await page.locator("#view > *:not(.muted:only-child)").first().waitFor();
      await page.waitForTimeout(300);
      // Nothing pushes the page sideways, and every tab button can be seen and tapped.
      const o = await page.evaluate(() => ({
        page: document.documentElement.scrollWidth - innerWidth,
        tabsOutside: [...document.querySelectorAll("nav button")].filter((t) => t.getBoundingClientRect().right > innerWidth).map((t) => t.textContent),
      }));
      if (o.page > 0 || o.tabsOutside.length > 0) overflow[tab] = o;
      await br.shot(page, `walkthrough-phone-${tab}`);
    }
    expect(overflow).toEqual({});
    expect(br.problems).toEqual([]);
    session.close();
  }, 90_000);

  test("a Claude Code session that closes shows as offline within seconds, as `list_peers` has it, not “online” until the presence grace ends", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { b, dirs: [aliceDir, bobDir] } = team;
    const session = await sessionOf(b.url, bobDir, "/home/bob/src/shop");
    await session.client.request("set_status", { status: "working" });
    await using served = await dashboardServing(aliceDir);
    await using br = await launchBrowser(served.json.local.slice(0, -1));
    const page = br.page;
    await page.goto(served.json.url);
    const status = page.locator(`${sel("peer-row")}[data-name="bob/shop"] ${sel("peer-status")}`);
    await status.filter({ hasText: "working" }).waitFor();
    const closedAt = Date.now();
    session.close();
    // The broker keeps the presence for presenceGrace (30 s) without telling anyone, but already
    // answers it as offline; the page re-reads well within that.
    await status.filter({ hasText: "offline" }).waitFor({ timeout: 20_000 });
    expect(Date.now() - closedAt).toBeLessThan(b.ctx.config.presenceGrace);
    expect(br.problems).toEqual([]);
  }, 60_000);

  test("a member removed while the page is open: the page ends the session view (header, tabs, post box), and a reload shows the sign-in page", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { dirs: [aliceDir, bobDir] } = team;
    await using served = await dashboardServing(bobDir);
    await using br = await launchBrowser(served.json.local.slice(0, -1));
    const page = br.page;
    await page.goto(served.json.url);
    await page.locator(sel("tab-chat")).click();
    await page.locator(sel("chat-input")).waitFor();
    expect(await page.locator("#who").textContent()).toBe("bob · member");
    ok(await cli(aliceDir, ["kick", "bob"]), "kick");
    // The chat view re-reads every 3 s: its next call is refused, and that ends the view.
    await page.locator(sel("member-removed")).waitFor({ timeout: 20_000 });
    const shown = {
      banner: await page.locator(sel("member-removed")).textContent(),
      who: await page.locator("#who").textContent(),
      tabs: await page.locator("nav button").count(),
      postBox: await page.locator(sel("chat-input")).isVisible(),
      banners: await page.locator(".banner").count(),
    };
    expect(shown).toEqual({ banner: expect.stringContaining("You were removed from this mesh"), who: "", tabs: 0, postBox: false, banners: 1 });
    await br.shot(page, "walkthrough-member-removed");
    // Loaded again, the page is signed out (the broker counts a removed member's cookie as none).
    await page.reload();
    await page.getByRole("heading", { name: "Sign in" }).waitFor({ timeout: 10_000 });
    expect(await page.locator(sel("boot-error")).count()).toBe(0);
    expect({ problems: br.problems, outside: br.outside }).toEqual({ problems: [], outside: [] });
  }, 60_000);
});

