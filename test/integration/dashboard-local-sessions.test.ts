// The sessions `claudemesh dashboard`'s local server remembers (src/cli/dashboard-server.ts): every
// one the broker opened through it is ended at stop, not only the last; and it remembers at most
// MAX_OPENED_SESSIONS, ending the oldest at the broker, so that logins in a loop cannot grow it.
import { expect, test } from "bun:test";
import { cliTeam, until } from "../helpers/cli.ts";
import { dashboardLink, PAGE_KEY_HEADER } from "../../src/client/dashboard-link.ts";
import { loadConfig } from "../../src/client/local/config-file.ts";
import { MAX_OPENED_SESSIONS, startLocalDashboard, type LocalDashboard } from "../../src/cli/dashboard-server.ts";
import { randomId } from "../../src/crypto/hash.ts";

/** A fresh login link of `dir`'s member, used through `local`: the session's cookie value (as the
 *  broker names it) and its page key. */
async function login(dir: string, local: LocalDashboard): Promise<{ cookie: string; key: string }> {
  const { login: body } = dashboardLink(loadConfig(dir).meshes[0]!, { nonce: randomId(), nowMs: Date.now() });
  const res = await fetch(`${local.base}/v1/dashboard/login`, { method: "POST", headers: { "content-type": "application/json", origin: local.base }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  const value = res.headers.get("set-cookie")!.split(";")[0]!.split("=")[1]!;
  return { cookie: `cm_dashboard=${value}`, key: res.headers.get(PAGE_KEY_HEADER)! };
}

test("stop ends at the broker every session opened through the server, not only the last", async () => {
  await using team = await cliTeam(["alice"]);
  const local = startLocalDashboard(team.b.url);
  const sessions = [await login(team.dirs[0], local), await login(team.dirs[0], local)];
  const atBroker = () => Promise.all(sessions.map((s) => fetch(`${team.b.url}/v1/dashboard/me`, { headers: { cookie: s.cookie } }).then((r) => r.status)));
  expect(await atBroker()).toEqual([200, 200]);
  await local.stop();
  expect(await atBroker()).toEqual([401, 401]);
}, 60_000);

test(`past ${MAX_OPENED_SESSIONS} sessions the oldest is ended at the broker and its page key forgotten`, async () => {
  await using team = await cliTeam(["alice"]);
  const local = startLocalDashboard(team.b.url);
  try {
    const sessions = [];
    for (let i = 0; i <= MAX_OPENED_SESSIONS; i++) sessions.push(await login(team.dirs[0], local));
    const [oldest, second, newest] = [sessions[0]!, sessions[1]!, sessions.at(-1)!];
    const port = new URL(local.base).port;
    const through = (s: { cookie: string; key: string }) =>
      fetch(`${local.base}/v1/dashboard/me`, { headers: { cookie: s.cookie.replace("cm_dashboard=", `cm_dashboard_${port}=`), [PAGE_KEY_HEADER]: s.key } }).then((r) => r.status);
    const direct = (s: { cookie: string }) => fetch(`${team.b.url}/v1/dashboard/me`, { headers: { cookie: s.cookie } }).then((r) => r.status);
    // The logout of the oldest is sent without waiting for it.
    await until(async () => (await direct(oldest)) === 401, "the oldest session to be ended at the broker");
    expect({ oldest: await through(oldest), second: await through(second), newest: await through(newest) }).toEqual({ oldest: 401, second: 200, newest: 200 });
  } finally {
    await local.stop();
  }
}, 60_000);
