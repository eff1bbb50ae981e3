// The dashboard in chromium when answers come late, twice, or not at all (docs/dashboard.md
// "Signing in", "What you see"): a tab that answers late never draws over the tab picked since (nor
// does its error); a double click posts once; a tab whose session was signed out elsewhere forgets
// the keys; a login link opened while the broker does not answer signs in once it does.
import { expect, test } from "bun:test";
import type { Page, Route } from "playwright-core";
import { aliceAndBrowser } from "../helpers/dashboard-page.ts";

const sel = (id: string) => `[data-testid="${id}"]`;
/** Where web/lib/keys.ts keeps the link's keys. */
const KEYS = "claudemesh.dashboard.keys";
const UNAVAILABLE = { status: 503, contentType: "application/json", body: JSON.stringify({ error: { code: "unavailable", message: "The broker does not answer." } }) };

/** Holds the page's calls to `path` until the returned function is called with what to do. */
async function hold(page: Page, path: string): Promise<{ held: Promise<void>; release(answer: (r: Route) => Promise<void>): void }> {
  let release!: (answer: (r: Route) => Promise<void>) => void;
  const answer = new Promise<(r: Route) => Promise<void>>((r) => (release = r));
  let arrived!: () => void;
  const held = new Promise<void>((r) => (arrived = r));
  await page.route(`**${path}`, async (route) => {
    arrived();
    await (await answer)(route);
  });
  return { held, release };
}

/** Which tab is selected and which views the panel shows. */
const shown = async (page: Page) => ({
  selected: await page.getAttribute('[role="tab"][aria-selected="true"]', "data-view"),
  topics: await page.locator("#view", { hasText: "the broker (and this list) knows only member counts" }).count(),
  audit: await page.locator(sel("audit-status")).count(),
  error: await page.locator(sel("view-error")).count(),
});

test("an answer that comes after another tab was picked draws nothing, and neither does its error", async () => {
  await using t = await aliceAndBrowser();
  const { br, page } = t;
  await page.goto(t.link);
  await page.locator(sel("count-members")).waitFor();
  for (const late of [(r: Route) => r.continue(), (r: Route) => r.fulfill({ status: 500, contentType: "application/json", body: JSON.stringify({ error: { code: "internal", message: "boom" } }) })]) {
    const audit = await hold(page, "/v1/dashboard/audit");
    await page.click(sel("tab-audit"));
    await audit.held;
    await page.click(sel("tab-topics"));
    await page.locator(sel("tab-topics")).and(page.locator('[aria-selected="true"]')).waitFor();
    await page.locator("#view:not([aria-busy])", { hasText: "#general" }).waitFor();
    const answered = page.waitForResponse("**/v1/dashboard/audit");
    audit.release(late);
    await answered;
    await page.waitForTimeout(300); // the late render's turn
    expect(await shown(page)).toEqual({ selected: "topics", topics: 1, audit: 0, error: 0 });
    await page.unroute("**/v1/dashboard/audit");
  }
  expect(br.problems).toEqual([]);
}, 60_000);

test("a double click on Post posts once; the text stays until it was posted", async () => {
  await using t = await aliceAndBrowser();
  const { br, page } = t;
  await page.goto(t.link);
  await page.click(sel("tab-chat"));
  await page.locator(sel("chat-input")).waitFor();
  const posts = await hold(page, "/v1/dashboard/topics/general/messages");
  let sent = 0;
  page.on("request", (r) => void (r.url().endsWith("/topics/general/messages") && r.method() === "POST" && sent++));
  await page.fill(sel("chat-input"), "deploying now");
  await page.dblclick(sel("chat-send"));
  await posts.held;
  await page.keyboard.press("Enter"); // the submit button is focused: a third try
  const inFlight = { sent, disabled: await page.isDisabled(sel("chat-send")), text: await page.inputValue(sel("chat-input")) };
  // Refused: the text is still there to post again.
  posts.release((r) => r.fulfill(UNAVAILABLE));
  await page.locator(sel("chat-error"), { hasText: "does not answer" }).waitFor();
  const refused = { disabled: await page.isDisabled(sel("chat-send")), text: await page.inputValue(sel("chat-input")) };
  await page.unroute("**/v1/dashboard/topics/general/messages");
  await page.click(sel("chat-send"));
  await page.locator(sel("chat-post")).first().waitFor();
  await page.waitForTimeout(500);
  expect({ inFlight, refused, sent, posts: await page.locator(sel("chat-post")).count(), text: await page.inputValue(sel("chat-input")) }).toEqual({
    inFlight: { sent: 1, disabled: true, text: "deploying now" },
    refused: { disabled: false, text: "deploying now" },
    sent: 2,
    posts: 1,
    text: "",
  });
}, 60_000);

test("signed out in another tab: the tab holding the keys says the session ended and forgets them", async () => {
  await using t = await aliceAndBrowser();
  const { br, page } = t;
  await page.goto(t.link);
  await page.locator(sel("count-members")).waitFor();
  expect(await page.evaluate((k) => sessionStorage.getItem(k) !== null, KEYS)).toBe(true);
  const other = await br.newPage();
  await other.goto(`${t.b.url}/`);
  await other.click("#logout");
  await other.getByRole("heading", { name: "Sign in" }).waitFor();
  await page.click(sel("tab-topics"));
  await page.locator(sel("view-error"), { hasText: "session has ended" }).waitFor();
  expect(await page.evaluate((k) => sessionStorage.getItem(k), KEYS)).toBeNull();
}, 60_000);

test("a login link opened while the broker does not answer signs in once it does, never back in the address bar", async () => {
  await using t = await aliceAndBrowser();
  const { br, page } = t;
  let down = true;
  await page.route("**/v1/dashboard/**", (route) => (down ? route.fulfill(UNAVAILABLE) : route.continue()));
  const link = t.link;
  await page.goto(link);
  await page.locator(sel("boot-error")).waitFor();
  const waiting = page.url();
  down = false;
  await page.locator(sel("count-members")).waitFor({ timeout: 10_000 });
  expect({ waiting, now: page.url(), keys: await page.evaluate((k) => sessionStorage.getItem(k) !== null, KEYS), error: await page.locator(sel("login-error")).count() }).toEqual({
    waiting: link.split("#")[0]!,
    now: link.split("#")[0]!,
    keys: true,
    error: 0,
  });
}, 60_000);
