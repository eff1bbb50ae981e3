// The broker behind a reverse proxy that passes publicUrl's path through instead of stripping it
// (nginx `proxy_pass http://127.0.0.1:7900;` without the trailing slash, Traefik without
// StripPrefix; docs/operations.md "First run"): operator review, session 22, where every request
// was a 404. Through test/helpers/prefix-proxy.ts's `passPath`, with real HTTP, a real WebSocket
// and the dashboard in a real browser; the root keeps working beside it; the per-address login
// throttle still tells clients apart (a rewritten Request has no peer address of Bun's); and a
// publicUrl whose path begins with one of the broker's own routes is refused (exit 2).
// The stripping proxy is dashboard-prefix.test.ts's.
import { describe, expect, test } from "bun:test";
import { startBroker, tempDir } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh, envelope, textOf } from "../helpers/mesh.ts";
import { prefixedBroker, prefixedDashboard } from "../helpers/prefixed-broker.ts";
import { cli } from "../helpers/cli.ts";
import { LOGIN_BURST } from "../../src/broker/dashboard-login.ts";
import { ROOT_ROUTE_NAMES } from "../../src/config/address.ts";

const sel = (id: string) => `[data-testid="${id}"]`;
const LOCAL_PROXY = ["127.0.0.1", "::1", "::ffff:127.0.0.1"];

describe("behind a proxy that passes /cm through", () => {
  test("HTTP under /cm/, and at the root; /cm is redirected to /cm/; /cmx is not under /cm", async () => {
    await using served = await prefixedBroker({ proxy: { passPath: true } });
    const { proxy, b } = served;
    const status = async (url: string) => (await fetch(url, { redirect: "manual" })).status;
    expect({ prefixed: await status(`${proxy.base}/health`), ready: await status(`${proxy.base}/health/ready`), root: await status(`${b.url}/health`), beside: await status(`${b.url}/cmx/health`) }).toEqual({ prefixed: 200, ready: 200, root: 200, beside: 404 });
    const bare = await fetch(`${proxy.base}?x=1`, { redirect: "manual" });
    expect({ status: bare.status, location: bare.headers.get("location"), csp: bare.headers.has("content-security-policy") }).toEqual({ status: 308, location: "./cm/?x=1", csp: true });
    const page = await fetch(proxy.base); // followed: /cm/?…
    expect({ url: page.url, status: page.status, type: page.headers.get("content-type") }).toEqual({ url: `${proxy.base}/`, status: 200, type: expect.stringContaining("text/html") });
    const docs = await fetch(`${proxy.base}/docs/`, { redirect: "manual" });
    expect({ status: docs.status, location: docs.headers.get("location") }).toEqual({ status: 308, location: "../docs" });
    // A signed route: the signature covers the route's own path, whichever path it came by.
    const { owner } = await createTestMesh(proxy.base, "alice", "shop");
    expect(owner.meshId).toBeTruthy();
    // The dashboard API keeps its no-store answers under the prefix.
    expect((await fetch(`${proxy.base}/v1/dashboard/session`)).headers.get("cache-control")).toBe("no-store");
    expect(proxy.misses).toEqual([]);
  });

  test("a WebSocket at /cm/ws: hello, requests and a message both ways", async () => {
    await using served = await prefixedBroker({ proxy: { passPath: true } });
    const { proxy, b } = served;
    const { owner } = await createTestMesh(proxy.base, "alice", "shop");
    const bobMember = await addMember(proxy.base, owner, "bob");
    const alice = await connect(proxy.base, owner);
    const bob = await connect(b.url, bobMember); // at the root, as an SSH tunnel would
    const peers = await alice.client.request("list_peers", {});
    expect(peers.peers.some((p) => p.memberId === bobMember.memberId && p.online)).toBe(true);
    await alice.client.request("send", { to: bobMember.keys.publicKey, clientMessageId: "cm_prefix_to_bob", ...envelope("through /cm") });
    expect((await bob.waitMessages(1)).map(textOf)).toEqual(["through /cm"]);
    await bob.client.request("send", { to: owner.keys.publicKey, clientMessageId: "cm_prefix_to_alice", ...envelope("back") });
    expect((await alice.waitMessages(1)).map(textOf)).toEqual(["back"]);
    await alice.close();
    await bob.close();
  });

  test("the dashboard at /cm/ in a browser: a member's link, its live view, and /cm without a slash", async () => {
    await using served = await prefixedDashboard({ proxy: { passPath: true } });
    const { proxy, owner, br, link } = served;
    const page = br.page;
    await page.goto(link.replace(`${proxy.base}/#`, `${proxy.base}#`)); // the bare path: the broker redirects
    expect(new URL(page.url()).pathname).toBe("/cm/");
    await page.locator(sel("count-members"), { hasText: "1" }).waitFor({ timeout: 10_000 });
    await page.locator(sel("live"), { hasText: "live" }).waitFor({ timeout: 10_000 });
    // A peer connecting shows up through the event stream (through the proxy), not a reload.
    const alice = await connect(proxy.base, owner, { hostname: "alice-laptop" });
    await page.locator(`${sel("peer-row")}[data-name="alice"][data-online="true"]`).waitFor({ timeout: 10_000 });
    await alice.close();
    expect({ misses: proxy.misses, outside: br.outside, problems: br.problems }).toEqual({ misses: [], outside: [], problems: [] });
  }, 60_000);

  test("the per-address login throttle sees each client a trusted proxy forwarded for, under /cm too", async () => {
    await using served = await prefixedBroker({ proxy: { passPath: true }, broker: { trustedProxies: LOCAL_PROXY } });
    const { proxy, b } = served;
    const overview = (from: string, token: string) => fetch(`${proxy.base}/v1/dashboard/operator/overview`, { headers: { authorization: `Bearer ${token}`, "x-forwarded-for": from } });
    for (let i = 0; i < LOGIN_BURST; i++) expect((await overview("203.0.113.7", `cmo_wrong_${i}`)).status).toBe(401);
    expect((await overview("203.0.113.7", "cmo_wrong_again")).status).toBe(429);
    // Another client behind the same proxy has its own allowance (it shared "unknown"'s before).
    expect((await overview("203.0.113.8", "cmo_wrong")).status).toBe(401);
    expect(b.logs.some((l) => l.includes("dashboard login refused") && l.includes("203.0.113.7"))).toBe(true);
  });
});

describe("a publicUrl path that would be ambiguous", () => {
  test("every route the broker serves begins with a name that ROOT_ROUTE_NAMES reserves", async () => {
    await using b = await startBroker();
    const spec = (await (await fetch(`${b.url}/docs/json`)).json()) as { paths: Record<string, unknown> };
    const firsts = new Set(Object.keys(spec.paths).map((p) => p.split("/")[1]!));
    expect([...firsts].filter((f) => !ROOT_ROUTE_NAMES.includes(f))).toEqual([]);
  });

  const cfg = tempDir("cm-prefix-pass-cfg-");
  test.each([
    ["https://mesh.example.com/v1", "/v1, the broker's own /v1 route"],
    ["https://mesh.example.com/health/", "/health, the broker's own /health route"],
    ["https://mesh.example.com/docs/cm", "/docs, the broker's own /docs route"],
    ["https://mesh.example.com/ws", "/ws, the broker's own /ws route"],
    ["https://mesh.example.com/favicon.svg/x", "/favicon.svg, a name with a dot, as the dashboard's files are named at the root"],
  ])("serve --public-url %s is refused with exit 2", async (url, why) => {
    const r = await cli(cfg, ["serve", "--check", "--data-dir", tempDir("cm-prefix-pass-"), "--public-url", url], { timeoutMs: 10_000 });
    expect({ code: r.code, stderr: r.stderr }).toEqual({
      code: 2,
      stderr: `claudemesh serve: publicUrl from --public-url: its path begins with ${why}: behind a proxy that passes the path through, ${why.split(",")[0]}/… could be either; choose another path, e.g. /claudemesh (got ${JSON.stringify(url)})\n`,
    });
  }, 15_000);
});
