// Dashboard calls for tests: a member signed in through POST /v1/dashboard/login, as the page does
// with its login link, and a plain caller of the broker's dashboard routes. Like the page, these
// helpers keep the page key each login answer gives (docs/protocol.md §6.7) and show it with that
// session's cookie: a test that pins what happens without it says so (`pageKey: null`).
import { expect } from "bun:test";
import { dashboardLink } from "../../src/client/dashboard-link.ts";
import { sealEnvelope } from "../../src/crypto/envelope.ts";
import { toBase64, toBase64Url } from "../../src/crypto/encoding.ts";
import { PAGE_KEY_HEADER } from "../../src/protocol/dashboard-keys.ts";
import { randomId } from "../../src/crypto/hash.ts";
import type { TestBroker } from "./broker.ts";
import type { TestMember } from "./mesh.ts";

/** An answer: its status, its body (parsed when JSON, else the text) and its headers. */
export type Res = { status: number; body: any; headers: Headers };

/** The page key of each session cookie ("name=value") a login answer gave through these helpers. */
const pageKeys = new Map<string, string>();

/** Keeps the page key of a login answer with its cookie; returns the cookie pair ("name=value"). */
export function keepPageKey(res: { headers: Headers }): string {
  const cookie = res.headers.get("set-cookie")!.split(";")[0]!;
  const key = res.headers.get(PAGE_KEY_HEADER);
  if (key) pageKeys.set(cookie, key);
  return cookie;
}

/** The page-key header for the sessions of `cookie` (one pair or several joined with "; "), as
 *  the page shows them: empty when no login answer through these helpers gave one. */
export function pageKeyHeader(cookie: string | undefined): Record<string, string> {
  const keys = (cookie ?? "").split(";").flatMap((c) => pageKeys.get(c.trim()) ?? []);
  return keys.length ? { [PAGE_KEY_HEADER]: keys.join(",") } : {};
}

/** The headers of a request with `cookie`, its page keys shown. */
export const withKey = (cookie: string): Record<string, string> => ({ cookie, ...pageKeyHeader(cookie) });

/** `method path` of broker `b`, with a cookie (and its page key, unless `pageKey` is null or
 *  another key), a JSON body or other headers when given. */
export async function call(b: TestBroker, method: string, path: string, opts: { cookie?: string; pageKey?: string | null; body?: unknown; headers?: Record<string, string> } = {}): Promise<Res> {
  const key = opts.pageKey === undefined ? pageKeyHeader(opts.cookie) : opts.pageKey === null ? {} : { [PAGE_KEY_HEADER]: opts.pageKey };
  const res = await fetch(`${b.url}${path}`, {
    method,
    headers: { ...(opts.cookie ? { cookie: opts.cookie, ...key } : {}), ...(opts.body !== undefined ? { "content-type": "application/json" } : {}), ...opts.headers },
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  if (res.headers.get(PAGE_KEY_HEADER) && res.headers.get("set-cookie")) keepPageKey(res);
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
  return keepPageKey(r);
}

export type DashboardCall = (method: string, path: string, body?: unknown) => Promise<Response>;

/** Signs `m` in to the dashboard; returns a caller of the broker's routes with its cookie and page
 *  key (and a JSON body when given one). */
export async function dashboardSession(b: TestBroker, m: TestMember): Promise<DashboardCall> {
  const cookie = await session(b, m);
  return (method, path, body) => fetch(`${b.url}${path}`, { method, headers: { ...withKey(cookie), "content-type": "application/json" }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
}

/** A login link for `m` as `claudemesh dashboard` makes it, carrying `meshKeys` (none: a member
 *  whose machine has not received the keys yet). */
export function pageLink(b: TestBroker, m: TestMember, owner: TestMember, meshKeys: Uint8Array[]): string {
  const keys = { publicKey: m.keys.publicKey, secretKey: m.keys.secretKey, meshKeys: meshKeys.map((k, epoch) => ({ epoch, key: toBase64(k) })), brokerUrl: b.url, slug: "shop", name: "Shop", ownerPubkey: owner.keys.publicKey };
  return dashboardLink({ brokerUrl: b.url, meshId: m.meshId, memberId: m.memberId, secretKey: m.keys.secretKey }, { nonce: randomId(), nowMs: Date.now(), keys }).url;
}

/** Posts `body` to #general as `m` over HTTP (its own session), sealed with `meshKey` at epoch 0. */
export async function postToGeneral(b: TestBroker, m: TestMember, meshKey: Uint8Array, body: string): Promise<number> {
  const cookie = await session(b, m);
  const id = toBase64Url(crypto.getRandomValues(new Uint8Array(16)));
  const sealed = sealEnvelope({ mesh: m.meshId, from: m.keys.publicKey, to: "#general", id, ts: Date.now(), kind: "text", body }, { mySecret: m.keys.secretKey, meshKey: { epoch: 0, key: meshKey } });
  return (await fetch(`${b.url}/v1/dashboard/topics/general/messages`, { method: "POST", headers: { ...withKey(cookie), "content-type": "application/json" }, body: JSON.stringify({ clientMessageId: id, ...sealed }) })).status;
}
