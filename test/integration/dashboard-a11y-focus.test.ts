// Where the keyboard is, in chromium, when the dashboard changes under it (docs/dashboard.md
// "Accessibility"): the signed-out page can be used from the keyboard; a timed re-read, a live
// event or a failed re-read redraws the data and leaves focus (and a half-filled form) where it
// was; a button pressed from the keyboard keeps focus while its request is under way, and a refusal
// is said beside it; the end of a session moves focus to the banner that says so.
import { expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { addMember } from "../helpers/mesh.ts";
import { aliceAndBrowser, showTab } from "../helpers/dashboard-page.ts";
import { pageLink } from "../helpers/dashboard.ts";
import { focused } from "../helpers/a11y.ts";

const sel = (id: string) => `[data-testid="${id}"]`;
const PEERS = '#view [role="region"][aria-label="Peers"]';

/** Opens `link`, and makes an invite on the Invites tab from the keyboard. */
async function inviteMade(page: Page, link: string): Promise<void> {
  await page.goto(link);
  await showTab(page, "invites");
  await page.focus(sel("invite-create"));
  await page.keyboard.press("Enter");
  await page.locator(sel("invite-row")).waitFor();
}

/** Waits for the page's next answer to `path` and for its redraw. */
async function nextRedraw(page: Page, path: string): Promise<void> {
  await page.waitForResponse((r) => new URL(r.url()).pathname === path, { timeout: 15_000 });
  await page.waitForTimeout(400);
}

test("signed out: Tab reaches the Operator tab, and Enter shows its sign-in form", async () => {
  await using t = await aliceAndBrowser();
  const { page } = t;
  await page.goto(`${t.b.url}/`);
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  const stops: string[] = [];
  for (let i = 0; i < 4 && stops.at(-1) !== "tab-operator"; i++) {
    await page.keyboard.press("Tab");
    stops.push(await focused(page));
  }
  expect(stops.at(-1)).toBe("tab-operator");
  await page.keyboard.press("Enter");
  await page.locator(sel("operator-token")).waitFor({ timeout: 10_000 });
  expect(await page.getAttribute(sel("tab-operator"), "aria-selected")).toBe("true");
  expect(t.br.problems).toEqual([]);
}, 60_000);

test("the Overview's timed re-read keeps focus on the Peers box, and a failed one keeps the view", async () => {
  await using t = await aliceAndBrowser();
  const { page } = t;
  await page.goto(t.link);
  await page.locator(PEERS).waitFor();
  await page.focus(PEERS);
  await nextRedraw(page, "/v1/dashboard/mesh");
  const afterPoll = await focused(page);
  // The broker stops answering: the view (and focus) stay, and a status says why.
  await page.route("**/v1/dashboard/mesh", (r) => r.fulfill({ status: 503, contentType: "application/json", body: JSON.stringify({ error: { code: "unavailable", message: "The broker does not answer." } }) }));
  await page.locator(sel("view-stale"), { hasText: "does not answer" }).waitFor({ timeout: 15_000 });
  expect({ afterPoll, afterFailure: await focused(page), peers: await page.locator(PEERS).count(), stale: await page.getAttribute(sel("view-stale"), "role") }).toEqual({
    afterPoll: "region:Peers",
    afterFailure: "region:Peers",
    peers: 1,
    stale: "status",
  });
  // Answering again, the note goes.
  await page.unroute("**/v1/dashboard/mesh");
  await nextRedraw(page, "/v1/dashboard/mesh");
  expect({ focus: await focused(page), stale: await page.locator(sel("view-stale")).textContent() }).toEqual({ focus: "region:Peers", stale: "" });
}, 60_000);

test("Invites: a member joining while the form is being filled keeps the form and focus", async () => {
  await using t = await aliceAndBrowser();
  const { page } = t;
  await page.goto(t.link);
  await showTab(page, "invites");
  // The closed invites too: bob's, used up by his join, is then a row the redraw adds.
  const listed = nextRedraw(page, "/v1/dashboard/invites");
  await page.check(sel("invite-closed"));
  await listed;
  await page.selectOption('select[name="role"]', "admin");
  await page.focus('input[name="maxUses"]');
  await page.keyboard.press("Control+a");
  await page.keyboard.type("5");
  const redrawn = nextRedraw(page, "/v1/dashboard/invites");
  await addMember(t.b.url, t.alice, "bob"); // member_joined: the view is drawn again
  await redrawn;
  expect({
    rows: await page.locator(sel("invite-row")).count(),
    focus: await focused(page),
    role: await page.inputValue('select[name="role"]'),
    maxUses: await page.inputValue('input[name="maxUses"]'),
  }).toEqual({ rows: 1, focus: "input[name=maxUses]", role: "admin", maxUses: "5" });
}, 60_000);

test("Post from the keyboard keeps focus on Post while it is sent, and after", async () => {
  await using t = await aliceAndBrowser();
  const { page } = t;
  await page.goto(t.link);
  await showTab(page, "chat");
  await page.focus(sel("chat-input"));
  await page.keyboard.type("deploying now");
  await page.keyboard.press("Tab");
  await page.keyboard.press("Enter");
  const during = await focused(page);
  await page.locator(sel("chat-post")).waitFor();
  await page.waitForTimeout(300);
  expect({ during, after: await focused(page), text: await page.inputValue(sel("chat-input")) }).toEqual({ during: "chat-send", after: "chat-send", text: "" });
}, 60_000);

test("a refused Revoke says why in an alert beside the button, which keeps its name and focus", async () => {
  await using t = await aliceAndBrowser();
  const { page } = t;
  await page.route("**/v1/dashboard/invites/*/revoke", (r) => r.fulfill({ status: 403, contentType: "application/json", body: JSON.stringify({ error: { code: "forbidden", message: "Only owners and admins may revoke invites." } }) }));
  await inviteMade(page, t.link);
  await page.focus(sel("invite-revoke"));
  await page.keyboard.press("Enter");
  await page.keyboard.press("Enter");
  const alert = page.locator(`${sel("invite-revoke-question")} [role="alert"]`);
  await alert.filter({ hasText: "Only owners and admins" }).waitFor({ timeout: 10_000 });
  expect({ focus: await focused(page), label: await page.textContent(sel("invite-revoke-confirm")) }).toEqual({ focus: "invite-revoke-confirm", label: "Revoke for good" });
}, 60_000);

test("a session taken over in another tab moves focus to the banner that says so", async () => {
  await using t = await aliceAndBrowser();
  const { page } = t;
  const bob = await addMember(t.b.url, t.alice, "bob");
  await page.goto(t.link);
  await page.locator(PEERS).waitFor();
  await page.focus(sel("tab-overview"));
  const other = await t.br.newPage();
  await other.goto(pageLink(t.b, bob, t.alice, []));
  await other.locator(sel("count-members")).waitFor();
  await page.locator(sel("session-changed")).waitFor({ timeout: 15_000 });
  await page.waitForTimeout(200);
  expect(await focused(page)).toBe("session-changed");
}, 60_000);

test("Escape closes the Revoke question, back to Revoke; Copy link is said in a status and goes back to its name", async () => {
  await using t = await aliceAndBrowser();
  const { page } = t;
  await inviteMade(page, t.link);
  await page.focus(sel("invite-revoke"));
  await page.keyboard.press("Enter");
  const described = await page.locator(sel("invite-revoke-confirm")).evaluate((b) => document.getElementById(b.getAttribute("aria-describedby") ?? "")?.textContent ?? null);
  await page.keyboard.press("Escape");
  const afterEscape = { focus: await focused(page), question: await page.locator(sel("invite-revoke-question")).count() };
  await page.focus(sel("invite-copy"));
  await page.keyboard.press("Enter");
  const copied = page.locator(`${sel("invite-copied")}[role="status"]`);
  await copied.filter({ hasText: "copied" }).waitFor();
  await page.locator(sel("invite-copy"), { hasText: "Copy link" }).waitFor({ timeout: 6_000 });
  expect({ described, afterEscape, said: await copied.textContent() }).toEqual({
    described: expect.stringMatching(/^Nobody will be able to join with .{8}… any more\.$/),
    afterEscape: { focus: "invite-revoke", question: 0 },
    said: "",
  });
}, 60_000);
