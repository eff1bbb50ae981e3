// The dashboard page in chromium for one member: a broker on port 0 with a mesh of alice's, a
// browser, and alice's login link carrying a mesh key; and the tab-switching every browser test
// needs.
import type { Page } from "playwright-core";
import { startBroker } from "./broker.ts";
import { createTestMesh } from "./mesh.ts";
import { launchBrowser } from "./browser.ts";
import { pageLink } from "./dashboard.ts";

/** A broker, alice's mesh, chromium (with `opts`), and alice's login link carrying `meshKey`.
 *  Disposing closes the browser, then the broker. */
export async function aliceAndBrowser(opts: Parameters<typeof launchBrowser>[1] = {}) {
  const b = await startBroker();
  try {
    const { owner: alice, mesh } = await createTestMesh(b.url, "alice");
    const br = await launchBrowser(b.url, opts);
    const meshKey = crypto.getRandomValues(new Uint8Array(32));
    const link = pageLink(b, alice, alice, [meshKey]);
    return { b, alice, mesh, meshKey, br, page: br.page, link, [Symbol.asyncDispose]: () => br[Symbol.asyncDispose]().finally(() => b[Symbol.asyncDispose]()) };
  } catch (err) {
    await b[Symbol.asyncDispose]();
    throw err;
  }
}

/** Shows tab `id` with a click and waits until its panel is drawn. */
export async function showTab(page: Page, id: string): Promise<void> {
  await page.click(`[data-testid="tab-${id}"]`);
  await page.locator(`#view[aria-labelledby="tab-${id}"]:not([aria-busy="true"])`).waitFor({ timeout: 10_000 });
}
