// A login link opened while the broker's login throttle refuses this address (docs/dashboard.md
// "Signing in", docs/protocol.md §6.7): the real broker answers 429 rate_limited with Retry-After,
// and the page says it is waiting, tries the same link again after that many seconds (not before,
// and not in a loop), and signs in; the link stays out of the address bar meanwhile. It stops once
// the link has expired, and says to get a new one.
import { expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { createTestMesh } from "../helpers/mesh.ts";
import { launchBrowser } from "../helpers/browser.ts";
import { call, loginOf, pageLink } from "../helpers/dashboard.ts";
import { LOGIN_BURST } from "../../src/broker/dashboard-login.ts";
import { DASHBOARD_LINK_TTL_MS } from "../../src/protocol/limits.ts";
import { dashboardLink } from "../../src/client/dashboard-link.ts";
import { randomId } from "../../src/crypto/hash.ts";
import type { TestBroker } from "../helpers/broker.ts";
import type { TestMember } from "../helpers/mesh.ts";

const sel = (id: string) => `[data-testid="${id}"]`;
/** Where web/lib/keys.ts keeps the link's keys. */
const KEYS = "claudemesh.dashboard.keys";

/** Spends this address's whole login allowance on logins that fail (a wrong signature still
 *  counts); returns a login that fails, to spend more. */
async function spendAllowance(b: TestBroker, m: TestMember) {
  const spoiled = { ...loginOf(b, m), signature: "00".repeat(64) };
  for (let i = 0; i < LOGIN_BURST; i++) expect((await call(b, "POST", "/v1/dashboard/login", { body: spoiled })).status).toBe(401);
  return () => call(b, "POST", "/v1/dashboard/login", { body: spoiled });
}

test("a login refused by the throttle is sent again after Retry-After, and signs in", async () => {
  await using b = await startBroker();
  const { owner: alice } = await createTestMesh(b.url, "alice");
  await using br = await launchBrowser(b.url);
  const page = br.page;
  const link = pageLink(b, alice, alice, [crypto.getRandomValues(new Uint8Array(32))]);
  const refused = await (await spendAllowance(b, alice))();
  expect({ status: refused.status, code: refused.body.error.code, retryAfter: refused.headers.get("retry-after") }).toEqual({ status: 429, code: "rate_limited", retryAfter: expect.stringMatching(/^[1-6]$/) });

  const tries: number[] = [];
  page.on("request", (r) => void (r.method() === "POST" && r.url().endsWith("/v1/dashboard/login") && tries.push(Date.now())));
  await page.goto(link);
  const waiting = page.locator(sel("boot-error"));
  await waiting.waitFor();
  const said = await waiting.textContent();
  await page.locator(sel("count-members")).waitFor({ timeout: 20_000 });
  expect({
    said,
    busy: await page.locator("#view").getAttribute("aria-busy"),
    url: page.url(),
    keys: await page.evaluate((k) => sessionStorage.getItem(k) !== null, KEYS),
    loginError: await page.locator(sel("login-error")).count(),
  }).toEqual({
    said: expect.stringMatching(/Too many dashboard logins from this address.*This page tries again in [1-6] s\./),
    busy: null,
    url: link.split("#")[0]!,
    keys: true,
    loginError: 0,
  });
  // Sent again once the broker's wait was over, not in a loop: a token comes back every 6 s.
  expect(tries.length).toBeGreaterThanOrEqual(2);
  expect(tries.length).toBeLessThanOrEqual(3);
  expect(tries[1]! - tries[0]!).toBeGreaterThanOrEqual(900);
  expect(br.problems).toEqual([]);
}, 60_000);

test("retries of a throttled login end when the link expires, and the page says to get a new one", async () => {
  await using b = await startBroker();
  const { owner: alice } = await createTestMesh(b.url, "alice");
  await using br = await launchBrowser(b.url);
  const page = br.page;
  // A link with 2 s left, and someone else at this address taking every login the throttle allows.
  const link = dashboardLink({ brokerUrl: b.url, meshId: alice.meshId, memberId: alice.memberId, secretKey: alice.keys.secretKey }, { nonce: randomId(), nowMs: Date.now() - DASHBOARD_LINK_TTL_MS + 2_000 }).url;
  const spend = await spendAllowance(b, alice);
  let hammering = true;
  const hammer = (async () => {
    while (hammering) await Promise.all([spend(), Bun.sleep(100)]);
  })();
  try {
    let tries = 0;
    page.on("request", (r) => void (r.method() === "POST" && r.url().endsWith("/v1/dashboard/login") && tries++));
    await page.goto(link);
    await page.locator(sel("boot-error"), { hasText: "This page tries again in" }).waitFor();
    await page.getByRole("heading", { name: "Sign in" }).waitFor({ timeout: 20_000 });
    expect({ tries, said: await page.locator(sel("login-error")).textContent() }).toEqual({
      tries: 2,
      said: expect.stringMatching(/^Too many dashboard logins from this address.* The link expired meanwhile: run `claudemesh dashboard` for a new one\.$/),
    });
  } finally {
    hammering = false;
    await hammer;
  }
}, 60_000);
