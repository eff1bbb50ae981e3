// What a screen reader is told, in chromium (docs/dashboard.md "Accessibility"): the page's title
// names the view and the mesh; every view has a heading; new #general posts land one by one in a
// polite log of list items (the list is not rebuilt on each re-read); the "tries again" while the
// broker does not answer is one status whose text changes, not a new one each time; rows of a
// broken audit chain say in words that they cannot be trusted.
import { expect, test } from "bun:test";
import { addMember } from "../helpers/mesh.ts";
import { aliceAndBrowser, showTab } from "../helpers/dashboard-page.ts";
import { postToGeneral } from "../helpers/dashboard.ts";

const sel = (id: string) => `[data-testid="${id}"]`;

const TABS = ["overview", "chat", "topics", "invites", "grants", "audit", "charts", "operator"] as const;

test("the title names the view and the mesh, and every view has a heading of its own; chart titles are headings", async () => {
  await using t = await aliceAndBrowser();
  const { page } = t;
  await page.goto(`${t.b.url}/`);
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  const signedOut = await page.title();
  await page.click(sel("tab-operator"));
  await page.locator(sel("operator-token")).waitFor();
  const operatorSignIn = { title: await page.title(), heading: (await page.locator("#view h2").allTextContents())[0] ?? null };
  await page.goto(t.link);
  await page.locator(sel("count-members")).waitFor();
  const shown: Record<string, { title: string; heading: string | null }> = {};
  for (const tab of TABS) {
    await showTab(page, tab);
    shown[tab] = { title: await page.title(), heading: (await page.locator("#view h2").allTextContents())[0] ?? null };
  }
  await showTab(page, "charts");
  const chartHeadings = await page.locator("#view .chart h3").allTextContents();
  const m = t.mesh.name;
  expect({ signedOut, operatorSignIn, shown, chartHeadings }).toEqual({
    signedOut: "Sign in – claudemesh",
    operatorSignIn: { title: "Operator – claudemesh", heading: "Operator sign-in" },
    shown: {
      overview: { title: `Overview – ${m} – claudemesh`, heading: "Peers" },
      chat: { title: `#general – ${m} – claudemesh`, heading: "#general" },
      topics: { title: `Topics – ${m} – claudemesh`, heading: "Topics" },
      invites: { title: `Invites – ${m} – claudemesh`, heading: "New invite" },
      grants: { title: `Grants & bans – ${m} – claudemesh`, heading: "Grants of every member" },
      audit: { title: `Audit log – ${m} – claudemesh`, heading: "Audit log" },
      charts: { title: `Charts – ${m} – claudemesh`, heading: "Charts" },
      operator: { title: `Operator – ${m} – claudemesh`, heading: "Operator sign-in" },
    },
    chartHeadings: ["Connections", "Messages per second", "Queue depth", "Rejections per second"],
  });
}, 60_000);

test("#general: posts are list items in a polite log that only new posts are added to", async () => {
  await using t = await aliceAndBrowser();
  const { page } = t;
  const bob = await addMember(t.b.url, t.alice, "bob");
  expect(await postToGeneral(t.b, bob, t.meshKey, "first")).toBe(201);
  await page.goto(t.link);
  await showTab(page, "chat");
  await page.locator(sel("chat-post")).waitFor();
  const log = page.locator('[role="log"]');
  expect({ live: await log.getAttribute("aria-live"), relevant: await log.getAttribute("aria-relevant"), name: await log.getAttribute("aria-label"), items: await log.getByRole("listitem").count() }).toEqual({
    live: "polite",
    relevant: "additions",
    name: "Posts in #general",
    items: 1,
  });
  // Every node the log gains from here on (a rebuilt list would re-add the old post each poll).
  await page.evaluate(() => {
    const added: string[] = ((window as unknown as { added: string[] }).added = []);
    new MutationObserver((ms) => {
      for (const m of ms) for (const n of m.addedNodes) if (n instanceof HTMLElement) added.push(n.textContent ?? "");
    }).observe(document.querySelector('[role="log"]')!, { subtree: true, childList: true });
  });
  await page.waitForResponse((r) => r.url().includes("/topics/general/history"), { timeout: 10_000 }); // a poll with nothing new
  await page.waitForTimeout(400);
  expect(await postToGeneral(t.b, bob, t.meshKey, "second")).toBe(201);
  await page.locator(sel("chat-post"), { hasText: "second" }).waitFor({ timeout: 10_000 });
  await page.waitForTimeout(3_500); // and one more poll
  const added = await page.evaluate(() => (window as unknown as { added: string[] }).added);
  expect({ added: added.length, says: added[0], items: await log.getByRole("listitem").count() }).toEqual({ added: 1, says: expect.stringContaining("second"), items: 2 });
}, 60_000);

test("while the broker does not answer, the page keeps one status whose text changes, never a new one per try", async () => {
  await using t = await aliceAndBrowser();
  const { page } = t;
  let refusals = 2;
  await page.route("**/v1/dashboard/session", (r) => (refusals-- > 0 ? r.abort("connectionrefused") : r.continue()));
  await page.addInitScript(() => {
    const seen: string[] = ((window as unknown as { seen: string[] }).seen = []);
    new MutationObserver((ms) => {
      for (const m of ms) for (const n of m.addedNodes) if (n instanceof HTMLElement && n.getAttribute("role") === "status" && n.id !== "live") seen.push(n.dataset.testid ?? "");
    }).observe(document, { subtree: true, childList: true });
  });
  await page.goto(`${t.b.url}/`);
  await page.getByRole("heading", { name: "Sign in" }).waitFor({ timeout: 20_000 });
  const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
  expect(seen).toEqual(["boot-error"]);
}, 60_000);

test("a broken audit chain: the rows from the break on say in words that they cannot be trusted", async () => {
  await using t = await aliceAndBrowser();
  const { page } = t;
  await addMember(t.b.url, t.alice, "bob");
  await addMember(t.b.url, t.alice, "carol");
  await page.route("**/v1/dashboard/audit", async (r) => {
    const res = await r.fetch();
    const j = await res.json();
    j.verification = { ...j.verification, valid: false, brokenAt: 2, reason: "hash mismatch" };
    await r.fulfill({ response: res, json: j });
  });
  await page.goto(t.link);
  await showTab(page, "audit");
  const rows = await page.locator(sel("audit-row")).evaluateAll((rs) => rs.map((r) => `${r.getAttribute("data-seq")}:${/untrusted/.test(r.textContent ?? "")}`));
  expect(rows.length).toBeGreaterThan(2);
  expect(rows).toEqual(rows.map((r) => `${r.split(":")[0]}:${Number(r.split(":")[0]) >= 2}`));
}, 60_000);
