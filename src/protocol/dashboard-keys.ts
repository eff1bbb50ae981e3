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
/** Most keys one request may show (a member and an operator session and a few logins since: the
 *  page keeps MAX_PAGE_KEYS, web/lib/api.ts); the rest are ignored. */
export const MAX_SHOWN_PAGE_KEYS = 8;
