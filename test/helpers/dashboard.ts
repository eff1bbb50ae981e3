// Dashboard calls for tests: a member signed in through POST /v1/dashboard/login, as the page does
// with its login link, and a plain caller of the broker's dashboard routes.
import { expect } from "bun:test";
import { dashboardLink } from "../../src/client/dashboard-link.ts";
import { randomId } from "../../src/crypto/hash.ts";
import type { TestBroker } from "./broker.ts";
import type { TestMember } from "./mesh.ts";

/** An answer: its status, its body (parsed when JSON, else the text) and its headers. */
export type Res = { status: number; body: any; headers: Headers };

/** `method path` of broker `b`, with a cookie, a JSON body or other headers when given. */
export async function call(b: TestBroker, method: string, path: string, opts: { cookie?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Res> {
  const res = await fetch(`${b.url}${path}`, {
    method,
    headers: { ...(opts.cookie ? { cookie: opts.cookie } : {}), ...(opts.body !== undefined ? { "content-type": "application/json" } : {}), ...opts.headers },
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, body, headers: res.headers };
}

/** The status and error code of an answer. */
export const code = (r: Res) => ({ status: r.status, code: r.body?.error?.code });

/** The body of POST /v1/dashboard/login for `m`, signed at `nowMs`. */
export const loginOf = (b: TestBroker, m: TestMember, nowMs = Date.now()) => dashboardLink({ brokerUrl: b.url, meshId: m.meshId, memberId: m.memberId, secretKey: m.keys.secretKey }, { nonce: randomId(), nowMs }).login;

/** Logs `m` in and returns the cookie pair ("name=value") to send back. */
export async function session(b: TestBroker, m: TestMember): Promise<string> {
  const r = await call(b, "POST", "/v1/dashboard/login", { body: loginOf(b, m) });
  expect(r.status).toBe(200);
  return r.headers.get("set-cookie")!.split(";")[0]!;
}

export type DashboardCall = (method: string, path: string, body?: unknown) => Promise<Response>;

/** Signs `m` in to the dashboard; returns a caller of the broker's routes with its cookie (and a
 *  JSON body when given one). */
export async function dashboardSession(b: TestBroker, m: TestMember): Promise<DashboardCall> {
  const cookie = await session(b, m);
  return (method, path, body) => fetch(`${b.url}${path}`, { method, headers: { cookie, "content-type": "application/json" }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
}
