// The page key in a real browser (docs/dashboard.md "Signing in", docs/security.md "The web
// dashboard"): the broker's own page signs in from a link, keeps working across a reload and on its
// live view, while a service on another port of the same host name, which the browser sends the
// broker's cookie to, cannot use that cookie at the broker. A tab whose origin holds no key for the
// cookie shows "Sign in", and one that loses it mid-use says the session has ended.
import { expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { connect, createTestMesh } from "../helpers/mesh.ts";
import { launchBrowser } from "../helpers/browser.ts";
import { dashboardLink } from "../../src/client/dashboard-link.ts";
import { randomId } from "../../src/crypto/hash.ts";
import { PAGE_KEY_HEADER } from "../../src/protocol/dashboard-keys.ts";

const sel = (id: string) => `[data-testid="${id}"]`;
/** Where web/lib/api.ts keeps the page keys. */
const PAGE_KEYS = "claudemesh.dashboard.pageKeys";

test("the broker's page works with its key; a page on another port gets the cookie but cannot use it", async () => {
  await using b = await startBroker();
  const { owner: alice } = await createTestMesh(b.url, "alice");
  const peer = await connect(b.url, alice);
  // Another service on the broker's host name (127.0.0.1), on another port: it records the cookies
  // the browser sends it.
  const seen: string[] = [];
  await using other = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => (seen.push(req.headers.get("cookie") ?? ""), new Response("<p>another service</p>", { headers: { "content-type": "text/html" } })) });
  const otherOrigin = `http://127.0.0.1:${other.port}`;
  await using br = await launchBrowser(b.url);
  await br.context.route(`${otherOrigin}/**`, (route) => route.continue()); // the only other origin let through
  const page = br.page;
  try {
    const { url } = dashboardLink({ brokerUrl: b.url, meshId: alice.meshId, memberId: alice.memberId, secretKey: alice.keys.secretKey }, { nonce: randomId(), nowMs: Date.now() });
    await page.goto(url);
    await page.locator(`${sel("peer-row")}[data-name="alice"]`).waitFor();
    await page.locator(sel("live"), { hasText: "live" }).waitFor();
    const keys: string[] = JSON.parse((await page.evaluate((k) => localStorage.getItem(k), PAGE_KEYS))!);
    expect(keys).toEqual([expect.stringMatching(/^[A-Za-z0-9_-]{43}$/)]);
    // A reload finds the key in the origin's storage: still signed in, live again.
    await page.reload();
    await page.locator(`${sel("peer-row")}[data-name="alice"]`).waitFor();
    await page.locator(sel("live"), { hasText: "live" }).waitFor();

    // The browser sends the broker's cookie to the other port (cookies do not tell ports apart)...
    const elsewhere = await br.newPage();
    await elsewhere.goto(`${otherOrigin}/`);
    const taken = seen.flatMap((c) => c.split(";").map((p) => p.trim())).find((p) => p.startsWith("cm_dashboard="));
    expect(taken).toBeDefined();
    // ...but that origin's storage holds no key, and the cookie alone opens nothing at the broker.
    expect(await elsewhere.evaluate((k) => localStorage.getItem(k), PAGE_KEYS)).toBeNull();
    const replayed = await fetch(`${b.url}/v1/dashboard/mesh`, { headers: { cookie: taken! } });
    expect([replayed.status, ((await replayed.json()) as any).error.code]).toEqual([401, "page_key_required"]);
    const stream = await fetch(`${b.url}/v1/dashboard/events`, { headers: { cookie: taken! }, signal: AbortSignal.timeout(5_000) });
    expect(stream.status).toBe(401);
    await stream.body?.cancel();
    // With the key (which only the broker's origin holds) it is the session the page uses.
    expect((await fetch(`${b.url}/v1/dashboard/mesh`, { headers: { cookie: taken!, [PAGE_KEY_HEADER]: keys[0]! } })).status).toBe(200);

    // A tab whose key is gone: the next call says the session has ended; a reload shows "Sign in".
    await page.evaluate((k) => localStorage.removeItem(k), PAGE_KEYS);
    await page.click(sel("tab-topics"));
    await page.locator(sel("view-error"), { hasText: "session has ended" }).waitFor();
    await page.reload();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    expect(await page.locator(sel("peer-row")).count()).toBe(0);
    expect(br.outside).toEqual([]);
    expect(br.problems).toEqual([]);
  } finally {
    peer.close();
  }
}, 90_000);
