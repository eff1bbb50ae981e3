// JSON calls to the broker's /v1/dashboard routes. The session cookie rides along (same origin);
// errors come back as ApiError with the broker's code and message.
import { PAGE_KEY_HEADER, PAGE_KEY_PARAM } from "../../src/protocol/dashboard-keys.ts";
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

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

/** The page key of each session this page opened (src/protocol/dashboard-keys.ts): the broker
 *  answers a login with it and refuses the session's cookie without it, so a page served on another
 *  port of the same host name, which the browser also sends the cookie to, cannot use the session.
 *  Kept in this origin's localStorage (per port; every tab of the page has it), and shown on every
 *  call, the live view's included. */
const PAGE_KEYS = "claudemesh.dashboard.pageKeys";
/** Member and operator sessions, and a few logins since. */
const MAX_PAGE_KEYS = 4;

function pageKeys(): string[] {
  try {
    const keys = JSON.parse(localStorage.getItem(PAGE_KEYS) ?? "[]");
    return Array.isArray(keys) ? keys.filter((k) => typeof k === "string") : [];
  } catch {
    return [];
  }
}

/** The live view's query string for the page keys (an EventSource sends no headers). */
export function pageKeyQuery(): string {
  const keys = pageKeys();
  return keys.length ? `?${PAGE_KEY_PARAM}=${encodeURIComponent(keys.join(","))}` : "";
}

async function call<T>(method: "GET" | "POST", path: `/${string}`, body?: unknown, named = true): Promise<T> {
  const headers: Record<string, string> = body === undefined ? {} : { "content-type": "application/json" };
  if (named && shown) headers[MEMBER_HEADER] = shown.header;
  const keys = pageKeys();
  if (keys.length) headers[PAGE_KEY_HEADER] = keys.join(",");
  const res = await fetch(routeUrl(path), { method, credentials: "same-origin", headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const issued = res.headers.get(PAGE_KEY_HEADER);
  if (issued) localStorage.setItem(PAGE_KEYS, JSON.stringify([...keys.filter((k) => k !== issued), issued].slice(-MAX_PAGE_KEYS)));
  if (res.status === 401 && named) shown?.onRefused();
  const data = await res.json().catch(() => null);
  if (res.status === 403 && named && data?.error?.code === "revoked") shown?.onRemoved();
  if (!res.ok) throw new ApiError(res.status, data?.error?.code ?? "internal", data?.error?.message ?? `HTTP ${res.status}`);
  return data as T;
}

export const get = <T>(path: `/${string}`) => call<T>("GET", path);
export const post = <T>(path: `/${string}`, body: unknown = {}) => call<T>("POST", path, body);
/** A GET as whoever the cookie is now, not necessarily the member this page shows. */
export const getAsCookie = <T>(path: `/${string}`) => call<T>("GET", path, undefined, false);
