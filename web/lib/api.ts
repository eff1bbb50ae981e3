// JSON calls to the broker's /v1/dashboard routes. The session cookie rides along (same origin);
// errors come back as ApiError with the broker's code and message.
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

/** Names the member this page shows on every call (src/broker/http/dashboard-auth.ts MEMBER_HEADER):
 *  the browser has one member cookie, and once a login in another tab gives it to someone else the
 *  broker refuses this tab's calls (401) instead of answering them as that member. */
const MEMBER_HEADER = "x-dashboard-member";
let shown: { header: string; onRefused: () => void } | null = null;

/** From now on, every call names this member (set once the page knows whom it shows), and a call
 *  refused as unauthorized also runs `onRefused` (which asks whether the cookie changed hands). */
export function showMember(meshId: string, memberId: string, onRefused: () => void): void {
  shown = { header: `${meshId}/${memberId}`, onRefused };
}

async function call<T>(method: "GET" | "POST", path: string, body?: unknown, named = true): Promise<T> {
  const headers: Record<string, string> = body === undefined ? {} : { "content-type": "application/json" };
  if (named && shown) headers[MEMBER_HEADER] = shown.header;
  const res = await fetch(path, { method, credentials: "same-origin", headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  if (res.status === 401 && named) shown?.onRefused();
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, data?.error?.code ?? "internal", data?.error?.message ?? `HTTP ${res.status}`);
  return data as T;
}

export const get = <T>(path: string) => call<T>("GET", path);
export const post = <T>(path: string, body: unknown = {}) => call<T>("POST", path, body);
/** A GET as whoever the cookie is now, not necessarily the member this page shows. */
export const getAsCookie = <T>(path: string) => call<T>("GET", path, undefined, false);
