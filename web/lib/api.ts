// JSON calls to the broker's /v1/dashboard routes. The session cookie rides along (same origin);
// errors come back as ApiError with the broker's code and message.
import { PAGE_KEY_HEADER, PAGE_KEYS_ENDED_HEADER } from "../../src/protocol/dashboard-keys.ts";
import { forgetEndedKeys, keepPageKey, pageKeys } from "./page-keys.ts";
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The answer's Retry-After in ms (the broker sends it with `rate_limited`), or null. */
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
  }
}

/** A Retry-After of whole seconds, in ms; null for none or another form (an HTTP date, which the
 *  broker never sends). */
const retryAfterMs = (value: string | null) => (value !== null && /^\d{1,6}$/.test(value.trim()) ? Number(value) * 1000 : null);

/** The URL of a broker route (`/v1/dashboard/…`) for this page: relative to the page, so that the
 *  same page works at a broker's root and behind a reverse proxy that serves it under a path
 *  (`https://example.com/cm/` → `/cm/v1/dashboard/…`), without the broker knowing the path. The
 *  page is only ever served at its base (`/`, `/join`), so `.` is that base. */
export const routeUrl = (path: `/${string}`) => `.${path}`;

/** Names the member this page shows on every call (src/broker/http/dashboard-auth.ts MEMBER_HEADER):
 *  the browser has one member cookie, and once a login in another tab gives it to someone else the
 *  broker refuses this tab's calls (401) instead of answering them as that member. */
const MEMBER_HEADER = "x-dashboard-member";
let shown: { header: string; onRefused: () => void; onRemoved: () => void } | null = null;

/** From now on, every call names this member (set once the page knows whom it shows), and a call
 *  refused as unauthorized also runs `onRefused` (which asks whether the cookie changed hands); one
 *  refused because the member was removed from the mesh (`revoked`) runs `onRemoved`, which ends
 *  the page's view of that member. Both still reject the call. */
export function showMember(meshId: string, memberId: string, onRefused: () => void, onRemoved: () => void): void {
  shown = { header: `${meshId}/${memberId}`, onRefused, onRemoved };
}

/** A GET (what a view reads) that is not answered within this fails as `timeout`: a view's draws
 *  run one at a time (lib/serial-draws.ts), so a read left hanging (a connection lost without a
 *  word) would hold up every later redraw of it. POSTs are left to wait: whether they took effect
 *  matters, and `claudemesh dashboard` bounds them at 30 s anyway. */
const GET_TIMEOUT_MS = 40_000;

/** Rethrows a GET's timeout as the broker's `timeout`; other errors as they are. */
function timedOut(err: unknown): never {
  if (err instanceof DOMException && err.name === "TimeoutError") throw new ApiError(504, "timeout", `The broker did not answer within ${GET_TIMEOUT_MS / 1000} s.`);
  throw err;
}

async function call<T>(method: "GET" | "POST", path: `/${string}`, body?: unknown, named = true): Promise<T> {
  const headers: Record<string, string> = body === undefined ? {} : { "content-type": "application/json" };
  if (named && shown) headers[MEMBER_HEADER] = shown.header;
  const keys = pageKeys();
  if (keys.length) headers[PAGE_KEY_HEADER] = keys.join(",");
  const bounded = method === "GET" ? { signal: AbortSignal.timeout(GET_TIMEOUT_MS) } : {};
  const res = await fetch(routeUrl(path), { method, credentials: "same-origin", headers, ...bounded, ...(body === undefined ? {} : { body: JSON.stringify(body) }) }).catch(timedOut);
  // Logins, logout and /session name the keys shown that open nothing any more; a login adds one.
  forgetEndedKeys(keys, res.headers.get(PAGE_KEYS_ENDED_HEADER));
  const issued = res.headers.get(PAGE_KEY_HEADER);
  if (issued) keepPageKey(issued);
  if (res.status === 401 && named) shown?.onRefused();
  const data = await res.json().catch((err) => (err instanceof DOMException && err.name === "TimeoutError" ? timedOut(err) : null));
  if (res.status === 403 && named && data?.error?.code === "revoked") shown?.onRemoved();
  if (!res.ok) throw new ApiError(res.status, data?.error?.code ?? "internal", data?.error?.message ?? `HTTP ${res.status}`, retryAfterMs(res.headers.get("retry-after")));
  return data as T;
}

export const get = <T>(path: `/${string}`) => call<T>("GET", path);
export const post = <T>(path: `/${string}`, body: unknown = {}) => call<T>("POST", path, body);
/** A GET as whoever the cookie is now, not necessarily the member this page shows. */
export const getAsCookie = <T>(path: `/${string}`) => call<T>("GET", path, undefined, false);
