// A dashboard session for tests: a member signed in through POST /v1/dashboard/login, as the page
// does with its login link.
import { dashboardLink } from "../../src/client/dashboard-link.ts";
import { randomId } from "../../src/crypto/hash.ts";
import type { TestBroker } from "./broker.ts";
import type { TestMember } from "./mesh.ts";

export type DashboardCall = (method: string, path: string, body?: unknown) => Promise<Response>;

/** Signs `m` in to the dashboard; returns a caller of the broker's routes with its cookie (and a
 *  JSON body when given one). */
export async function dashboardSession(b: TestBroker, m: TestMember): Promise<DashboardCall> {
  const login = dashboardLink({ brokerUrl: b.url, meshId: m.meshId, memberId: m.memberId, secretKey: m.keys.secretKey }, { nonce: randomId(), nowMs: Date.now() }).login;
  const res = await fetch(`${b.url}/v1/dashboard/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(login) });
  if (res.status !== 200) throw new Error(`dashboard login failed: ${res.status} ${await res.text()}`);
  const cookie = res.headers.get("set-cookie")!.split(";")[0]!;
  return (method, path, body) => fetch(`${b.url}${path}`, { method, headers: { cookie, "content-type": "application/json" }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
}
