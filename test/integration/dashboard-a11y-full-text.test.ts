// Nothing the dashboard says is only in a tooltip, in chromium (docs/dashboard.md "Accessibility"):
// a `title` reaches neither the keyboard nor a touch screen. A post's full key, a grant sender's
// key, who removed a member and an audit entry's full hash are disclosures that Tab reaches and
// Enter or Space opens; what a sender badge means is said in words under the posts and describes
// the badge; the header badge says what it is about. A redraw keeps a disclosure open while it
// holds the same value.
import { expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { storedName } from "../helpers/broker.ts";
import { addMember, connect } from "../helpers/mesh.ts";
import { aliceAndBrowser, showTab } from "../helpers/dashboard-page.ts";
import { postToGeneral } from "../helpers/dashboard.ts";
import { focused } from "../helpers/a11y.ts";

const sel = (id: string) => `[data-testid="${id}"]`;

/** Presses Tab until the focused element is `testId` (at most `max` times); where it stopped. */
async function tabTo(page: Page, testId: string, max = 40): Promise<string> {
  let at = "";
  for (let i = 0; i < max && at !== testId; i++) {
    await page.keyboard.press("Tab");
    at = await focused(page);
  }
  return at;
}

/** The focused disclosure: whether it is open, and its value as shown (null while hidden). */
const disclosure = (page: Page) =>
  page.evaluate(() => {
    const d = document.activeElement!.closest("details")!;
    const whole = d.querySelector<HTMLElement>(".whole")!;
    return { open: d.open, shown: whole.checkVisibility() ? whole.innerText : null };
  });

/** Opens the mesh in the page: bob (granted dm by alice), mallory (named "alice" by an older
 *  broker) and dave (removed after posting) have posted to #general. */
async function meshWithHistory() {
  const t = await aliceAndBrowser();
  const { b, alice, meshKey } = t;
  const [bob, mallory, dave] = [await addMember(b.url, alice, "bob"), await addMember(b.url, alice, "mallory"), await addMember(b.url, alice, "dave")];
  storedName(b, mallory.meshId, mallory.memberId, "alice");
  for (const m of [alice, mallory, dave]) expect(await postToGeneral(b, m, meshKey, `hello from ${m.displayName}`)).toBe(201);
  const ws = await connect(b.url, alice);
  await ws.client.request("grant_set", { peer: bob.keys.publicKey, caps: ["dm"] });
  await ws.client.request("member_revoke", { memberId: dave.memberId, ban: false });
  ws.close();
  return Object.assign(t, { bob, mallory, dave });
}

test("no view carries text in a title attribute, and the header badge says what it is about", async () => {
  await using t = await meshWithHistory();
  const { page } = t;
  await page.goto(t.link);
  await page.locator(sel("live"), { hasText: "live" }).waitFor();
  const titled: Record<string, string[]> = {};
  for (const view of ["overview", "chat", "topics", "invites", "grants", "audit", "charts"]) {
    await showTab(page, view);
    if (view === "chat") await page.locator(sel("chat-post")).nth(2).waitFor();
    titled[view] = await page.evaluate(() => [...document.querySelectorAll("[title]")].map((e) => `${e.tagName} ${e.getAttribute("title")}`));
  }
  expect(titled).toEqual({ overview: [], chat: [], topics: [], invites: [], grants: [], audit: [], charts: [] });
  expect(await page.locator(sel("live")).innerText()).toBe("live updates");
  expect(t.br.problems).toEqual([]);
}, 90_000);

test("#general: Tab reaches a post's key and Enter shows all of it; the badges are explained in words", async () => {
  await using t = await meshWithHistory();
  const { page, alice } = t;
  await page.goto(t.link);
  await showTab(page, "chat");
  await page.locator(sel("chat-post")).nth(2).waitFor();
  // From the selected tab, on into the view: the first post's key (alice's own) is a stop.
  expect(await tabTo(page, "chat-key")).toBe("chat-key");
  expect(await disclosure(page)).toEqual({ open: false, shown: null });
  await page.keyboard.press("Enter");
  expect(await disclosure(page)).toEqual({ open: true, shown: `key ${alice.keys.publicKey}` });
  await page.keyboard.press("Enter");
  expect(await disclosure(page)).toEqual({ open: false, shown: null });

  // Each badge is described by a note that is shown in the page, in words.
  const badges = await page.locator(`${sel("chat-former")}, ${sel("chat-same-name")}`).evaluateAll((els) =>
    els.map((e) => {
      const note = document.getElementById(e.getAttribute("aria-describedby") ?? "");
      return { badge: e.textContent, note: note?.checkVisibility() ? note.innerText : null };
    }),
  );
  const twins = { note: "“Also named”: more than one member goes by this name; tell them apart by the key." };
  expect(badges).toEqual([
    { badge: "another member is also named “alice”", ...twins },
    { badge: "another member is also named “alice”", ...twins },
    { badge: "removed", note: "Left, removed or banned: the key that signed the post is no longer a member's, and cannot post any more." },
  ]);
  await t.br.shot(page, "full-text-general");
  expect(t.br.problems).toEqual([]);
}, 90_000);

test("Grants and the audit log: Space opens a sender's key, a remover's id and a full hash; a redraw keeps them open while they say the same", async () => {
  await using t = await meshWithHistory();
  const { page, b, alice, bob } = t;
  await page.goto(t.link);
  await showTab(page, "grants");
  expect(await tabTo(page, "grant-peer")).toBe("grant-peer");
  // The sender is named beside it; the disclosure is the start of the key, as `claudemesh grants` shows it.
  expect(await page.evaluate(() => [document.activeElement!.textContent, document.activeElement!.closest("td")!.innerText])).toEqual([bob.keys.publicKey.slice(0, 12), `bob ${bob.keys.publicKey.slice(0, 12)}`]);
  await page.keyboard.press("Space");
  expect(await disclosure(page)).toEqual({ open: true, shown: `key ${bob.keys.publicKey}` });
  // A member joining redraws Grants: what is open stays open, and focus stays.
  const redrawn = page.waitForResponse((r) => new URL(r.url()).pathname === "/v1/dashboard/grants", { timeout: 15_000 });
  await addMember(b.url, alice, "erin");
  await redrawn;
  await page.waitForTimeout(400);
  expect({ at: await focused(page), ...(await disclosure(page)) }).toEqual({ at: "grant-peer", open: true, shown: `key ${bob.keys.publicKey}` });
  expect(await tabTo(page, "removed-by")).toBe("removed-by");
  await page.keyboard.press("Space");
  expect(await disclosure(page)).toEqual({ open: true, shown: `member id ${alice.memberId}` });

  await showTab(page, "audit");
  expect(await tabTo(page, "audit-hash")).toBe("audit-hash");
  const newest = await page.evaluate(() => document.activeElement!.closest("tr")!.dataset.seq!);
  await page.keyboard.press("Space");
  const hash = (await disclosure(page)).shown;
  expect(hash).toMatch(/^hash [0-9a-f]{64}$/);
  // A new entry shifts the rows under the open one: the row in its place holds another hash, so
  // no disclosure shows a hash that is not its row's.
  const again = page.waitForResponse((r) => new URL(r.url()).pathname === "/v1/dashboard/audit", { timeout: 15_000 });
  await addMember(b.url, alice, "frank");
  await again;
  await page.locator(`${sel("audit-row")}[data-seq="${Number(newest) + 1}"]`).waitFor();
  expect(await page.locator("details[open]").count()).toBe(0);
  expect(t.br.problems).toEqual([]);
}, 90_000);

test("#general: the first stop in the view skips the posts' keys to the post box", async () => {
  await using t = await meshWithHistory();
  const { page } = t;
  await page.goto(t.link);
  await showTab(page, "chat");
  await page.locator(sel("chat-post")).nth(2).waitFor();
  await page.locator(sel("chat-input")).waitFor();
  // Reached before any post's key, and seen once focused (it is out of sight until then).
  const stops: string[] = [];
  for (let i = 0; i < 20 && !stops.includes("chat-skip") && !stops.includes("chat-key"); i++) {
    await page.keyboard.press("Tab");
    stops.push(await focused(page));
  }
  expect(stops.at(-1)).toBe("chat-skip");
  expect(await page.locator(sel("chat-skip")).evaluate((e) => e.getBoundingClientRect().width > 1)).toBe(true);
  await page.keyboard.press("Enter");
  expect(await focused(page)).toBe("chat-input");
  expect(t.br.problems).toEqual([]);
}, 90_000);
