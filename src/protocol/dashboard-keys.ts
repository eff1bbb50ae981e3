// The dashboard's page key (docs/protocol.md §6.7): a random key the broker issues with each
// dashboard login, bound to that session. A request that carries a dashboard cookie must show its
// session's key too, so that a server on another port of the broker's host name, which browsers
// also send the cookie to, cannot use it. The page keeps the keys in its origin's storage.

/** The login answer's header with the new session's key; the page shows the keys it holds in the
 *  same header on every call, comma-separated. */
export const PAGE_KEY_HEADER = "x-dashboard-page-key";
/** The same, as a query parameter of the live view (`GET /v1/dashboard/events`): an EventSource
 *  cannot send headers. */
export const PAGE_KEY_PARAM = "pageKey";
/** The answer's header, on logins, logout and `GET /session`, naming by position (0-based,
 *  comma-separated) the shown keys that open nothing for this browser any more: their session
 *  ended, or none of the request's cookies names it. The page forgets those, and only those. */
export const PAGE_KEYS_ENDED_HEADER = "x-dashboard-page-keys-ended";
/** Most keys one request may show, and most the page keeps (web/lib/page-keys.ts); the rest are
 *  ignored. An origin holds at most a member and an operator session at a time, and the page drops
 *  a key once the broker names it ended, so this is only a bound on a header's size. */
export const MAX_SHOWN_PAGE_KEYS = 16;
