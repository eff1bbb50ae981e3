// The dashboard and the API reference behind a reverse proxy that serves the broker under a path
// (docs/operations.md, publicUrl "a path is fine"; operator review, session 19): in a real browser
// through a prefix-stripping proxy (test/helpers/prefix-proxy.ts), with publicUrl set to the
// proxy's /cm, the page loads its files, signs in (a member's link and the operator token, both
// passing the origin check on publicUrl alone, since the proxy rewrites Host), keeps its live view
// up and shows the mesh; /cm/docs renders its operations; and nothing is asked for outside /cm.
// The compiled executable, whose bundler writes root-absolute asset URLs into the page, is
// tested so in binary.test.ts.
// At the root, the same is covered by dashboard-browser.test.ts and dashboard-live.test.ts.
import { describe, expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { connect } from "../helpers/mesh.ts";
import { launchBrowser, operatorSees } from "../helpers/browser.ts";
import { prefixedBroker, prefixedDashboard } from "../helpers/prefixed-broker.ts";

const sel = (id: string) => `[data-testid="${id}"]`;

describe("under a path prefix", () => {
  // Operator review, session 22: the reference's examples named routes from the host's root.
  test("the OpenAPI document names publicUrl, its path included, as the server; without publicUrl, none", async () => {
    await using served = await prefixedBroker({ slash: true });
    const { proxy } = served;
    const spec = await (await fetch(`${proxy.base}/docs/json`)).json();
    expect(spec.servers).toEqual([{ url: proxy.base, description: "this broker, at its publicUrl" }]);
    await using plain = await startBroker();
    expect((await (await fetch(`${plain.url}/docs/json`)).json()).servers).toBeUndefined();
  });

  test("the page at /cm/: a member's link, the live view, sign-out, the operator's sign-in and /cm/join", async () => {
    await using served = await prefixedDashboard();
    const { proxy, b, owner, br, link } = served;
    const page = br.page;

    expect(link.startsWith(`${proxy.base}/#login=`)).toBe(true);
    await page.goto(link);
    await page.locator(sel("count-members"), { hasText: "1" }).waitFor();
    await page.locator(sel("live"), { hasText: "live" }).waitFor();
    // A peer connecting shows up through the event stream, not a reload.
    const alice = await connect(b.url, owner, { hostname: "alice-laptop" });
    await page.locator(`${sel("peer-row")}[data-name="alice"][data-online="true"]`).waitFor({ timeout: 10_000 });
    await alice.close();

    await page.click("#logout");
    await page.locator(sel("tab-operator")).waitFor();
    await operatorSees(page, b.firstRunToken!, "shop");

    await page.goto(proxy.base); // no trailing slash: the proxy redirects, as nginx does
    expect(page.url()).toBe(`${proxy.base}/`);
    await page.click(sel("tab-operator"));
    await page.locator(sel("operator-mesh"), { hasText: "shop" }).waitFor({ timeout: 10_000 });

    await page.goto(`${proxy.base}/join#eyJ2IjoyLCJicm9rZXIiOiJodHRwOi8veCJ9`);
    expect(await page.inputValue(sel("join-link"))).toBe(`${proxy.base}/join#eyJ2IjoyLCJicm9rZXIiOiJodHRwOi8veCJ9`);
    expect({ misses: proxy.misses, outside: br.outside, problems: br.problems }).toEqual({ misses: [], outside: [], problems: [] });
  }, 60_000);

  // Session 22: behind a proxy that forwards /cm as / without redirecting, the page loaded its
  // files from /chunk-….js (outside the path) and stayed on "Loading…".
  test("the page at /cm without a slash, from a proxy that does not redirect, goes to /cm/ and works; /cm/join stays", async () => {
    await using served = await prefixedDashboard({ proxy: { bareToRoot: true } });
    const { proxy, br, link } = served;
    await br.page.goto(link.replace(`${proxy.base}/#`, `${proxy.base}#`));
    await br.page.locator(sel("count-members"), { hasText: "1" }).waitFor({ timeout: 10_000 });
    expect(new URL(br.page.url()).pathname).toBe("/cm/");
    await br.page.goto(`${proxy.base}/join#eyJ2IjoyLCJicm9rZXIiOiJodHRwOi8veCJ9`);
    expect(await br.page.inputValue(sel("join-link"))).toBe(`${proxy.base}/join#eyJ2IjoyLCJicm9rZXIiOiJodHRwOi8veCJ9`);
    expect({ outside: br.outside, problems: br.problems }).toEqual({ outside: [], problems: [] });
  }, 60_000);

  // Security review, session 22: the page's one inline script, which sends a page opened at /cm
  // to /cm/, went to its path plus "/" as given. nginx serves the page for a path it normalizes to
  // the prefix, such as //evil.example/%2f%2e%2e%2fcm%2f (decoded, merged, resolved: /cm/), which
  // the browser keeps as it is; the script's location.replace("//evil.example/…/") then took the
  // browser to another host, an open redirect from the broker's address.
  test("the page's redirect to its slash stays on the broker's origin, whatever path a normalizing proxy served it at", async () => {
    await using served = await prefixedBroker({ proxy: { normalize: true } });
    const { proxy } = served;
    await using br = await launchBrowser(proxy.origin);
    const crafted = `${proxy.origin}//evil.example/%2f%2e%2e%2fcm%2f`;
    await br.page.goto(crafted);
    await br.page.getByRole("heading", { name: "Sign in" }).waitFor({ timeout: 10_000 });
    expect({ url: br.page.url(), outside: br.outside, problems: br.problems }).toEqual({ url: `${crafted}/`, outside: [], problems: [] });
  }, 60_000);

  test("the API reference at /cm/docs renders its operations with publicUrl's path in their examples, and /cm/docs/ comes back to it", async () => {
    // A trailing slash on publicUrl does not double the one each route starts with.
    await using served = await prefixedBroker({ slash: true });
    const { proxy } = served;
    await using br = await launchBrowser(proxy.origin);
    const page = br.page;
    await page.goto(`${proxy.base}/docs/`);
    expect(page.url()).toBe(`${proxy.base}/docs`);
    await page.getByText("Create a mesh").first().waitFor({ timeout: 20_000 });
    await page.getByText("HTTP routes of the claudemesh broker").first().waitFor();
    // The request example a reader copies names the route under the prefix (operator review,
    // session 22: it said `/v1/meshes`, which behind /cm is a 404).
    await page.getByText(`${proxy.base}/v1/meshes`).first().waitFor({ timeout: 10_000 });
    expect({ misses: proxy.misses, outside: br.outside, problems: br.problems }).toEqual({ misses: [], outside: [], problems: [] });
  }, 60_000);
});
