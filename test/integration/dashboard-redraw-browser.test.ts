// Redraws of one view in chromium (docs/dashboard.md "What you see"): a view is drawn again on
// live events, on a timer and after a post of its own, and a redraw may be asked for while the
// one before is still waiting for the broker. The older answer must never be drawn over a newer
// one. Here a view's timed re-read is held (its answer, taken from the broker at that moment, is
// kept back) while something changes and another redraw is asked for; once the held answer lands,
// the page must end up showing the change, without ever going back to the state before it, and
// without emptying the view in between.
import { expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { startBroker } from "../helpers/broker.ts";
import { connect, createTestMesh } from "../helpers/mesh.ts";
import { launchBrowser } from "../helpers/browser.ts";
import { pageLink } from "../helpers/dashboard.ts";

const sel = (id: string) => `[data-testid="${id}"]`;

/** Records, in order, every value `read` (run in the page) gives as the page changes ("-": nothing
 *  to read, the view was emptied); returns a reader of the record. */
async function record(page: Page, read: string): Promise<() => Promise<string[]>> {
  await page.evaluate((read) => {
    const value = new Function(`return (${read})`) as () => string;
    const seen: string[] = ((window as unknown as { seen: string[] }).seen = [value()]);
    new MutationObserver(() => {
      const v = value();
      if (v !== seen.at(-1)) seen.push(v);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  }, read);
  return () => page.evaluate(() => (window as unknown as { seen: string[] }).seen);
}

/** Holds the next call to `path` (answered by the broker at once, but handed to the page only when
 *  released); later calls go through. */
async function holdNext(page: Page, path: string) {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let arrived!: () => void;
  const held = new Promise<void>((r) => (arrived = r));
  let answered!: () => void;
  const landed = new Promise<void>((r) => (answered = r));
  let holding = false;
  await page.route(`**${path}`, async (route) => {
    if (holding) return route.continue();
    holding = true;
    const response = await route.fetch();
    arrived();
    await released;
    await route.fulfill({ response });
    answered();
  });
  return { held, landed, release };
}

/** Lets the held answer land once a newer one had its chance to be drawn, and waits for `shown`. */
async function settle(page: Page, hold: Awaited<ReturnType<typeof holdNext>>, shown: string) {
  // Where redraws overlap, the newer one lands first; where they do not, it waits for the held one.
  await page.locator(shown).first().waitFor({ timeout: 3_000 }).catch(() => {});
  hold.release();
  await hold.landed;
  await page.locator(shown).first().waitFor({ timeout: 10_000 });
  await page.waitForTimeout(500); // anything still on its way lands
}

test("Overview: a timed re-read that answers late is never drawn over the live event's redraw", async () => {
  await using b = await startBroker();
  const { owner: alice } = await createTestMesh(b.url, "alice");
  await using br = await launchBrowser(b.url);
  const page = br.page;
  await page.goto(pageLink(b, alice, alice, []));
  await page.locator(sel("count-online"), { hasText: "0" }).waitFor();
  const seen = await record(page, `document.querySelector('[data-testid="count-online"]')?.textContent ?? "-"`);
  const hold = await holdNext(page, "/v1/dashboard/mesh");
  await hold.held; // the 5 s timer's re-read: nobody online
  const peer = await connect(b.url, alice); // peer_joined: the Overview asks for a redraw
  try {
    await settle(page, hold, `${sel("count-online")}:text-is("1")`);
    expect(await seen()).toEqual(["0", "1"]);
    expect(br.problems).toEqual([]);
  } finally {
    peer.close();
  }
}, 60_000);

test("#general: a poll that answers late is never drawn over the redraw after a post", async () => {
  await using b = await startBroker();
  const { owner: alice } = await createTestMesh(b.url, "alice");
  await using br = await launchBrowser(b.url);
  const page = br.page;
  await page.goto(pageLink(b, alice, alice, [crypto.getRandomValues(new Uint8Array(32))]));
  await page.click(sel("tab-chat"));
  await page.locator(sel("chat-input")).waitFor();
  const seen = await record(page, `document.querySelector('[data-testid="chat-list"]') ? String(document.querySelectorAll('[data-testid="chat-post"]').length) : "-"`);
  const hold = await holdNext(page, "/v1/dashboard/topics/general/history?after=0");
  await hold.held; // the 3 s poll: no posts yet
  await page.fill(sel("chat-input"), "deploying now");
  await page.click(sel("chat-send"));
  await settle(page, hold, sel("chat-post"));
  expect({ seen: await seen(), text: await page.inputValue(sel("chat-input")) }).toEqual({ seen: ["0", "1"], text: "" });
  expect(br.problems).toEqual([]);
}, 60_000);
