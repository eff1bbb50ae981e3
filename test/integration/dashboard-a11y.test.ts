// The dashboard for keyboard and screen-reader users, in chromium on the page `claudemesh
// dashboard` serves. axe-core audits every view an owner sees (and the operator's, signed in and
// not, the signed-out page, and the broker's /join page) at desktop and phone width, in light and dark, and fails on any
// violation of impact serious or critical. The tab bar follows the WAI-ARIA tabs pattern (manual
// activation): a tablist of tabs each controlling the tabpanel, one tab in the Tab order, arrows,
// Home and End move between tabs, Enter or Space shows one; and focus moves to what replaces a
// control that goes away. Pins docs/dashboard.md "Accessibility".
import { describe, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { cli, cliTeam, dashboardServing, ok, sessionOf } from "../helpers/cli.ts";
import { launchBrowser, operatorSees } from "../helpers/browser.ts";
import { startBroker } from "../helpers/broker.ts";
import { axeViolations } from "../helpers/axe.ts";

const sel = (id: string) => `[data-testid="${id}"]`;

/** Shows tab `id` with a click and waits until its panel is drawn. */
async function showTab(page: Page, id: string): Promise<void> {
  await page.click(sel(`tab-${id}`));
  await page.locator(`#view[aria-labelledby="tab-${id}"]:not([aria-busy="true"])`).waitFor({ timeout: 10_000 });
}

const SIZES = [
  { name: "desktop", width: 1280, height: 800 },
  { name: "phone", width: 375, height: 740 },
] as const;
const SCHEMES = ["light", "dark"] as const;

/** axe's serious and critical findings on every tab of `page`, at each size and colour scheme,
 *  keyed "who/tab/size/scheme". */
async function auditTabs(page: Page, who: string): Promise<Record<string, string[]>> {
  const found: Record<string, string[]> = {};
  const tabs = await page.locator('[role="tab"]').evaluateAll((els) => els.map((e) => e.getAttribute("data-view")!));
  for (const size of SIZES) {
    await page.setViewportSize(size);
    for (const scheme of SCHEMES) {
      await page.emulateMedia({ colorScheme: scheme });
      for (const tab of tabs) {
        await showTab(page, tab);
        const v = await axeViolations(page);
        if (v.length) found[`${who}/${tab}/${size.name}/${scheme}`] = v;
      }
    }
  }
  return found;
}

describe("dashboard accessibility", () => {
  test("axe finds nothing serious or critical on any view of an owner, the operator and the signed-out page, at 1280 and 375 px, light and dark", async () => {
    await using team = await cliTeam(["alice", "bob", "carol"]);
    const { b, dirs: [aliceDir, bobDir] } = team;
    // Something in every view: a post, a session online, an invite, a block, a removal.
    ok(await cli(aliceDir, ["topic", "post", "general", "hello"]));
    ok(await cli(aliceDir, ["invite", "--max-uses", "3"]));
    ok(await cli(aliceDir, ["block", "bob"]));
    ok(await cli(aliceDir, ["kick", "carol", "--reason", "left the team"]));
    const session = await sessionOf(b.url, bobDir, "/home/bob/src/shop");
    await using served = await dashboardServing(aliceDir);
    await using br = await launchBrowser(served.json.local.slice(0, -1));
    const page = br.page;
    await page.goto(served.json.url);
    await page.locator(`${sel("peer-row")}[data-name="bob/shop"]`).waitFor();
    const found = await auditTabs(page, "owner");
    // The operator, signed in beside the member: the operator overview replaces its sign-in form.
    await page.setViewportSize(SIZES[0]);
    await operatorSees(page, b.firstRunToken!, team.mesh.slug);
    Object.assign(found, await auditTabs(page, "owner+operator"));

    // Another tab's page without the member cookie: signed out, and the operator alone.
    await br.context.clearCookies();
    const other = await br.newPage();
    await other.goto(served.json.local);
    await other.getByRole("heading", { name: "Sign in" }).waitFor();
    for (const size of SIZES) {
      await other.setViewportSize(size);
      for (const scheme of SCHEMES) {
        await other.emulateMedia({ colorScheme: scheme });
        const v = await axeViolations(other);
        if (v.length) found[`signed-out/${size.name}/${scheme}`] = v;
      }
    }
    await other.setViewportSize(SIZES[0]);
    await operatorSees(other, b.firstRunToken!, team.mesh.slug);
    Object.assign(found, await auditTabs(other, "operator"));

    expect(found).toEqual({});
    expect({ problems: br.problems, outside: br.outside }).toEqual({ problems: [], outside: [] });
    session.close();
  }, 240_000);

  test("axe finds nothing serious or critical on the broker's /join page, for an invite and for a damaged link, at 1280 and 375 px, light and dark", async () => {
    await using b = await startBroker();
    await using br = await launchBrowser(b.url);
    const page = br.page;
    const found: Record<string, string[]> = {};
    for (const [name, fragment, shown] of [["invite", "#abcdefABCDEF0123456789_-abcdefABCDEF", "join-link"], ["damaged", "#not an invite", "join-error"]] as const) {
      await page.goto("about:blank"); // else only the fragment changes, and nothing is loaded
      await page.goto(`${b.url}/join${fragment}`);
      await page.locator(sel(shown)).waitFor();
      for (const size of SIZES) {
        await page.setViewportSize(size);
        for (const scheme of SCHEMES) {
          await page.emulateMedia({ colorScheme: scheme });
          const v = await axeViolations(page);
          if (v.length) found[`join/${name}/${size.name}/${scheme}`] = v;
        }
      }
    }
    expect(found).toEqual({});
    expect({ problems: br.problems, outside: br.outside }).toEqual({ problems: [], outside: [] });
  }, 60_000);

  test("the tabs with the keyboard only: one Tab stop, arrows, Home and End move, Enter and Space show, Tab goes on to the panel", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    await using served = await dashboardServing(team.dirs[0]);
    await using br = await launchBrowser(served.json.local.slice(0, -1));
    const page = br.page;
    await page.goto(served.json.url);
    await page.locator(`${sel("peer-row")}[data-name="alice"]`).waitFor();
    const focused = () => page.evaluate(() => document.activeElement?.getAttribute("data-testid") ?? document.activeElement?.id ?? null);
    /** The tab bar as a screen reader is told it. */
    const bar = () =>
      page.evaluate(() => ({
        tablist: document.querySelector('[role="tablist"]')?.getAttribute("aria-label") ?? null,
        tabs: [...document.querySelectorAll('[role="tablist"] [role="tab"]')].map((t) => `${t.textContent}:${t.getAttribute("aria-selected")}:${t.getAttribute("tabindex")}:${t.getAttribute("aria-controls")}`),
        panel: `${document.querySelector("#view")?.getAttribute("role")}:${document.querySelector("#view")?.getAttribute("aria-labelledby")}`,
      }));
    const tabs = (selected: string, focusable = selected) =>
      ["Overview", "#general", "Topics", "Invites", "Grants & bans", "Audit log", "Charts", "Operator"].map((t) => `${t}:${t === selected}:${t === focusable ? 0 : -1}:view`);
    expect(await bar()).toEqual({ tablist: "Views", tabs: tabs("Overview"), panel: "tabpanel:tab-overview" });

    // Tab from the Sign out button (the last control of the header) lands on the selected tab.
    await page.focus("#logout");
    await page.keyboard.press("Tab");
    expect(await focused()).toBe("tab-overview");
    // Arrows move focus, wrapping at either end; Home and End go to the first and last tab.
    await page.keyboard.press("ArrowRight");
    expect(await focused()).toBe("tab-chat");
    await page.keyboard.press("ArrowLeft");
    await page.keyboard.press("ArrowLeft");
    expect(await focused()).toBe("tab-operator");
    await page.keyboard.press("Home");
    expect(await focused()).toBe("tab-overview");
    await page.keyboard.press("End");
    expect(await focused()).toBe("tab-operator");
    // Moving focus shows nothing yet (each view reads from the broker): Enter shows the tab.
    expect(await bar()).toEqual({ tablist: "Views", tabs: tabs("Overview"), panel: "tabpanel:tab-overview" });
    await page.keyboard.press("ArrowLeft");
    await page.keyboard.press("ArrowLeft");
    expect(await focused()).toBe("tab-audit");
    await page.keyboard.press("Enter");
    await page.locator(`#view[aria-labelledby="tab-audit"]:not([aria-busy="true"]) ${sel("audit-status")}`).waitFor();
    expect(await bar()).toEqual({ tablist: "Views", tabs: tabs("Audit log"), panel: "tabpanel:tab-audit" });
    expect(await focused()).toBe("tab-audit");
    // Space shows one too; then Tab leaves the tab bar for the panel.
    await page.keyboard.press("Home");
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press(" ");
    await page.locator(`#view[aria-labelledby="tab-chat"]:not([aria-busy="true"]) ${sel("chat-input")}`).waitFor();
    expect(await bar()).toEqual({ tablist: "Views", tabs: tabs("#general"), panel: "tabpanel:tab-chat" });
    await page.keyboard.press("Tab");
    expect(await focused()).toBe("view");
    // The focused element is visibly marked (an outline of at least 2 px).
    const outline = await page.evaluate(() => {
      const s = getComputedStyle(document.activeElement!);
      return { style: s.outlineStyle, wide: parseFloat(s.outlineWidth) >= 2 };
    });
    expect(outline).toEqual({ style: "solid", wide: true });
    // Into the panel: the post box, named by its visible label.
    await page.keyboard.press("Tab");
    expect({ focused: await focused(), named: await page.getByRole("textbox", { name: "Message #general", exact: true }).getAttribute("data-testid") }).toEqual({ focused: "chat-input", named: "chat-input" });
    expect(br.problems).toEqual([]);
  }, 90_000);

  test("focus follows a control that goes away: a created invite to its link, Revoke to its confirmation and back, a revoked invite to the view", async () => {
    await using team = await cliTeam(["alice"]);
    await using served = await dashboardServing(team.dirs[0]);
    await using br = await launchBrowser(served.json.local.slice(0, -1));
    const page = br.page;
    await page.goto(served.json.url);
    await showTab(page, "invites");
    const focusOn = (id: string) => page.waitForFunction((t) => (document.activeElement as HTMLElement | null)?.dataset.testid === t || document.activeElement?.id === t, id, { timeout: 10_000 });
    await page.focus(sel("invite-create"));
    await page.keyboard.press("Enter");
    await focusOn("invite-link");
    expect(await page.locator(sel("invite-link")).getAttribute("aria-label")).toBe("Invite link");
    const revoke = page.locator(`${sel("invite-row")}[data-state="active"] ${sel("invite-revoke")}`);
    expect(await revoke.getAttribute("aria-label")).toMatch(/^Revoke invite .{8}…$/);
    await revoke.focus();
    await page.keyboard.press("Enter");
    await focusOn("invite-revoke-confirm");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter"); // Cancel
    await focusOn("invite-revoke");
    await page.keyboard.press("Enter");
    await focusOn("invite-revoke-confirm");
    await page.keyboard.press("Enter");
    // The revoked invite leaves the list of open ones; a status says so.
    await page.locator(sel("invite-note"), { hasText: "Revoked invite" }).waitFor();
    await focusOn("view");
    expect(await page.locator(sel("invite-row")).count()).toBe(0);
    expect(br.problems).toEqual([]);
  }, 60_000);
});
