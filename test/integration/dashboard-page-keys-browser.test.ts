// The page keys of one origin in chromium (docs/dashboard.md "The page key", docs/protocol.md
// §6.7): an origin holds a member and an operator session at once, and every login in it (another
// mesh's member, the same link's member again in another tab) adds a key. A key is dropped only
// once the broker says its session is over for this browser, never because newer logins came: the
// operator session opened first still opens after many member logins, and the page holds one key
// per live session, not one per login.
import { expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { startBroker, type TestBroker } from "../helpers/broker.ts";
import { createTestMesh, type TestMember } from "../helpers/mesh.ts";
import { launchBrowser, operatorSees } from "../helpers/browser.ts";
import { dashboardLink } from "../../src/client/dashboard-link.ts";
import { randomId } from "../../src/crypto/hash.ts";

const sel = (id: string) => `[data-testid="${id}"]`;
/** Where web/lib/api.ts keeps the page keys. */
const PAGE_KEYS = "claudemesh.dashboard.pageKeys";

const link = (b: TestBroker, m: TestMember) => dashboardLink({ brokerUrl: b.url, meshId: m.meshId, memberId: m.memberId, secretKey: m.keys.secretKey }, { nonce: randomId(), nowMs: Date.now() }).url;
const keysOf = async (page: Page): Promise<string[]> => JSON.parse((await page.evaluate((k) => localStorage.getItem(k), PAGE_KEYS)) ?? "[]");

test("the operator session keeps its page key through many member logins; ended sessions' keys are dropped", async () => {
  await using b = await startBroker();
  const { owner: alice, mesh: shop } = await createTestMesh(b.url, "alice");
  const { owner: bob } = await createTestMesh(b.url, "bob");
  await using br = await launchBrowser(b.url);
  const page = br.page;
  await page.goto(`${b.url}/`);
  await operatorSees(page, b.firstRunToken!, shop.slug);
  // Members of two meshes, one after another, some in tabs of their own: each login ends the
  // member session of the one before (one member cookie per browser), never the operator's.
  const logins = [alice, bob, alice, bob, alice, bob];
  for (const [i, m] of logins.entries()) {
    const tab = i % 2 === 0 ? page : await br.newPage();
    await tab.goto(link(b, m));
    await tab.locator(sel("count-members")).waitFor();
    expect(await tab.locator("#who").textContent()).toContain(m.displayName);
  }
  // A fresh tab: both sessions open, the operator's (the oldest login) included.
  const fresh = await br.newPage();
  await fresh.goto(`${b.url}/`);
  await fresh.locator(sel("count-members")).waitFor();
  await fresh.click(sel("tab-operator"));
  await fresh.locator(sel("operator-overview")).waitFor({ timeout: 10_000 });
  expect(await fresh.locator(sel("operator-token")).count()).toBe(0);
  // One key per session this browser still holds: the operator's and the last member's.
  expect((await keysOf(fresh)).length).toBe(2);

  // Signed out: every key is dropped at the next look.
  await fresh.click("#logout");
  await fresh.getByRole("heading", { name: "Sign in" }).waitFor();
  await fresh.waitForFunction((k) => localStorage.getItem(k) === "[]", PAGE_KEYS, { timeout: 5_000 });
  expect(br.outside).toEqual([]);
  expect(br.problems).toEqual([]);
}, 90_000);
