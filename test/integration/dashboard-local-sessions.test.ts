// The sessions `claudemesh dashboard`'s local server remembers (src/cli/dashboard-server.ts): every
// one the broker opened through it is ended at stop, not only the last; and it remembers at most
// MAX_OPENED_SESSIONS, ending the oldest at the broker, so that logins in a loop cannot grow it;
// one whose cookie has expired is forgotten at the next login.
import { expect, test } from "bun:test";
import { cliTeam, dashboardServing, until } from "../helpers/cli.ts";
import { dashboardLink, parseDashboardFragment } from "../../src/client/dashboard-link.ts";
import { PAGE_KEY_HEADER, PAGE_KEYS_ENDED_HEADER } from "../../src/protocol/dashboard-keys.ts";
import { loadConfig } from "../../src/client/local/config-file.ts";
import { MAX_OPENED_SESSIONS, startLocalDashboard, type LocalDashboard } from "../../src/cli/dashboard-server.ts";
import { SESSION_TTL_MS } from "../../src/broker/dashboard-sessions.ts";
import { randomId } from "../../src/crypto/hash.ts";

type Session = { cookie: string; key: string };

/** A fresh login link of `dir`'s member, used through `local`: the session's cookie value (as the
 *  broker names it) and its page key. */
async function login(dir: string, local: LocalDashboard): Promise<Session> {
  const { login: body } = dashboardLink(loadConfig(dir).meshes[0]!, { nonce: randomId(), nowMs: Date.now() });
  const res = await fetch(`${local.base}/v1/dashboard/login`, { method: "POST", headers: { "content-type": "application/json", origin: local.base }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  const value = res.headers.get("set-cookie")!.split(";")[0]!.split("=")[1]!;
  return { cookie: `cm_dashboard=${value}`, key: res.headers.get(PAGE_KEY_HEADER)! };
}

/** The status of GET /v1/dashboard/me with `s` through `local`: its cookie as the browser keeps
 *  it, and its page key. */
const through = (local: LocalDashboard, s: Session) =>
  fetch(`${local.base}/v1/dashboard/me`, { headers: { cookie: s.cookie.replace("cm_dashboard=", `cm_dashboard_${local.port}=`), [PAGE_KEY_HEADER]: s.key } }).then((r) => r.status);

/** The status of GET /v1/dashboard/me with `s`'s cookie and page key, asked of the broker itself. */
const direct = (brokerUrl: string, s: Session) => fetch(`${brokerUrl}/v1/dashboard/me`, { headers: { cookie: s.cookie, [PAGE_KEY_HEADER]: s.key } }).then((r) => r.status);

test("stop ends at the broker every session opened through the server, not only the last", async () => {
  await using team = await cliTeam(["alice"]);
  const local = startLocalDashboard(team.b.url);
  const sessions = [await login(team.dirs[0], local), await login(team.dirs[0], local)];
  const atBroker = () => Promise.all(sessions.map((s) => direct(team.b.url, s)));
  expect(await atBroker()).toEqual([200, 200]);
  await local.stop();
  expect(await atBroker()).toEqual([401, 401]);
}, 60_000);

test(`past ${MAX_OPENED_SESSIONS} sessions the oldest is ended at the broker`, async () => {
  await using team = await cliTeam(["alice"]);
  const local = startLocalDashboard(team.b.url);
  try {
    const sessions = [];
    for (let i = 0; i <= MAX_OPENED_SESSIONS; i++) sessions.push(await login(team.dirs[0], local));
    const [oldest, second, newest] = [sessions[0]!, sessions[1]!, sessions.at(-1)!];
    // The logout of the oldest is sent without waiting for it.
    await until(async () => (await direct(team.b.url, oldest)) === 401, "the oldest session to be ended at the broker");
    expect({ oldest: await through(local, oldest), second: await through(local, second), newest: await through(local, newest) }).toEqual({ oldest: 401, second: 200, newest: 200 });
  } finally {
    await local.stop();
  }
}, 60_000);

test("a session whose cookie has expired is forgotten at the next login: stop does not end it", async () => {
  await using team = await cliTeam(["alice"]);
  let nowMs = Date.now();
  const local = startLocalDashboard(team.b.url, 0, { now: () => nowMs });
  const expired = await login(team.dirs[0], local);
  let fresh = expired;
  try {
    // Past the cookie's Max-Age by this server's clock; the broker's still holds the session.
    nowMs += SESSION_TTL_MS;
    fresh = await login(team.dirs[0], local);
    expect(await through(local, fresh)).toBe(200);
  } finally {
    await local.stop();
  }
  expect({ expired: await direct(team.b.url, expired), fresh: await direct(team.b.url, fresh) }).toEqual({ expired: 200, fresh: 401 });
}, 60_000);

// Security review, session 22: when the page key moved into the broker, this server began passing
// on every cookie named with its port, not only those of the sessions opened through it. A browser
// keeps a port's cookies (8 h) and its page keys across dashboards, and a fixed port is what the
// SSH recipe uses: a dashboard that died without ending its session (killed, or its broker out of
// reach at stop) left a live session whose cookie and key the next dashboard on that port, for
// another broker, handed to that broker, which could then use it at the first.
test("a cookie of a session not opened through this server is not passed on: an earlier dashboard's on the same port, now for another broker", async () => {
  await using team = await cliTeam(["alice"]);
  const first = await dashboardServing(team.dirs[0]);
  const port = Number(new URL(first.json.local).port);
  const { login: body } = parseDashboardFragment(new URL(first.json.url).hash)!;
  const res = await fetch(`${first.json.local}v1/dashboard/login`, { method: "POST", headers: { "content-type": "application/json", origin: first.json.local.slice(0, -1) }, body: JSON.stringify(body) });
  const left = { cookie: res.headers.get("set-cookie")!.split(";")[0]!, key: res.headers.get(PAGE_KEY_HEADER)! };
  first.proc.kill("SIGKILL"); // ends nothing at the broker
  await first.proc.exited;
  await first[Symbol.asyncDispose]();
  // Another broker (a stand-in that records what it is sent), and a dashboard for it on that port.
  const seen: { cookie: string | null; key: string | null }[] = [];
  using other = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req) => (seen.push({ cookie: req.headers.get("cookie"), key: req.headers.get(PAGE_KEY_HEADER) }), Response.json({})) });
  const next = startLocalDashboard(`http://127.0.0.1:${other.port}`, port);
  try {
    // The browser sends what it holds for the port: the cookie, and the page the keys it kept.
    expect((await fetch(`${next.base}/v1/dashboard/me`, { headers: { cookie: left.cookie, [PAGE_KEY_HEADER]: left.key } })).status).toBe(200);
    expect(seen.map((s) => s.cookie)).toEqual([null]);
  } finally {
    await next.stop();
  }
  // The session is still live at the first broker, with that cookie and key.
  expect(await direct(team.b.url, { cookie: left.cookie.replace(`cm_dashboard_${port}=`, "cm_dashboard="), key: left.key })).toBe(200);
}, 60_000);

// Session 32: the page forgets a page key only when the broker names it ended
// (PAGE_KEYS_ENDED_HEADER); through this server the header must come back with the answer.
test("a login through the server passes on which of the page's keys the broker says are ended", async () => {
  await using team = await cliTeam(["alice"]);
  const local = startLocalDashboard(team.b.url);
  try {
    const first = await login(team.dirs[0], local);
    const { login: body } = dashboardLink(loadConfig(team.dirs[0]).meshes[0]!, { nonce: randomId(), nowMs: Date.now() });
    const cookie = first.cookie.replace("cm_dashboard=", `cm_dashboard_${local.port}=`);
    const res = await fetch(`${local.base}/v1/dashboard/login`, { method: "POST", headers: { "content-type": "application/json", origin: local.base, cookie, [PAGE_KEY_HEADER]: `made-up,${first.key}` }, body: JSON.stringify(body) });
    expect({ status: res.status, ended: res.headers.get(PAGE_KEYS_ENDED_HEADER) }).toEqual({ status: 200, ended: "0,1" });
  } finally {
    await local.stop();
  }
}, 60_000);
