// Who is asking, for the dashboard routes. A member viewer comes from the member cookie and is
// re-checked against the store on every request (still active, current role); it acts through the
// same handlers as a WebSocket connection, with a Conn that has no socket, so every permission rule
// is the one the protocol already enforces. An operator comes from the operator cookie or an
// `Authorization: Bearer cmo_…` header holding the current operator token. A cookie counts only
// with its session's page key (PAGE_KEY_HEADER; the live view's PAGE_KEY_PARAM): browsers send the
// broker's cookies to every port of its host name, but the key is in the page origin's storage.
import { bearerToken } from "./bearer.ts";
import type { Server } from "bun";
import { MeshError } from "../../protocol/errors.ts";
import { safeEqual, sha256Hex } from "../../crypto/hash.ts";
import type { Member } from "../../store/types.ts";
import type { BrokerContext } from "../context.ts";
import { Conn, memberIdentity } from "../conn.ts";
import { currentOperatorTokenHash, verifyOperatorToken } from "../operator.ts";
import type { Dashboard } from "../dashboard-state.ts";
import { MEMBER_COOKIE, OPERATOR_COOKIE, readCookies, showsPageKey, type DashboardSession } from "../dashboard-sessions.ts";
import { isTrustedProxy, requestIp } from "../client-ip.ts";
import { MAX_SHOWN_PAGE_KEYS, PAGE_KEY_HEADER, PAGE_KEY_PARAM } from "../../protocol/dashboard-keys.ts";
import { queryParam } from "./query.ts";

/** A member viewer: the member as the store has it now, a Conn for the handlers, and the session. */
export type Viewer = { member: Member; conn: Conn; session: DashboardSession };

/** A transport for a Conn that only carries an identity into the handlers. */
const NO_SOCKET = { remoteAddress: "dashboard", send: () => false, close: () => {}, ping: () => {}, pauseReading: () => {}, buffered: () => 0 };

const LOGIN_HINT = "Not logged in to the dashboard. Run `claudemesh dashboard` for a login link.";

/** Names the member a page shows, `<meshId>/<memberId>`; the page sends it on every call. A browser
 *  holds one member cookie and a login in another tab replaces it, so without this check an open
 *  tab would go on reading and posting as whoever signed in last, in that member's mesh. Optional:
 *  scripts that send none act as the cookie's member. */
export const MEMBER_HEADER = "x-dashboard-member";
const CHANGED_HINT = "This browser's dashboard session is now another member's (a login in another tab). Reload the page.";

const KEY_HINT = "This request has the dashboard cookie but not its page key, which the login answer gave (X-Dashboard-Page-Key): a page of another origin cannot use this session. Reload the dashboard, or run `claudemesh dashboard` for a new link.";

/** Where a route takes the page key from: the header, or (the live view) also the query. */
export type KeyFrom = "header" | "header or query";

/** The live session of cookie `name` whose page key the request shows (any of the cookie's
 *  values: another port's page may have set one more), or null when no value is a live session.
 *  Throws page_key_required when there is one but the request does not show its page key. */
function keyedSession(dash: Dashboard, request: Request, name: string, from: KeyFrom): DashboardSession | null {
  const sessions = readCookies(request.headers.get("cookie"), name).flatMap((c) => dash.sessions.get(c) ?? []);
  if (sessions.length === 0) return null;
  const shown = [request.headers.get(PAGE_KEY_HEADER), from === "header or query" ? queryParam(request, PAGE_KEY_PARAM) : null];
  const keyed = sessions.find((session) => shown.some((keys) => showsPageKey(session, keys)));
  if (keyed) return keyed;
  throw new MeshError("page_key_required", KEY_HINT);
}

/** The positions (0-based) of the page keys the request shows in PAGE_KEY_HEADER (the first
 *  MAX_SHOWN_PAGE_KEYS) that are the key of no live session named by its cookies, member or
 *  operator: the page may forget them, since this browser cannot use those sessions again (a
 *  cookie is set before its key reaches the page, and once replaced, cleared or expired it does
 *  not come back). A key of a session that is live but whose cookie this request lacks counts as
 *  ended too: this browser's cookie for it is gone. */
export function endedPageKeys(dash: Dashboard, request: Request): number[] {
  const shown = request.headers.get(PAGE_KEY_HEADER);
  if (!shown) return [];
  const cookies = request.headers.get("cookie");
  const live = [...readCookies(cookies, MEMBER_COOKIE), ...readCookies(cookies, OPERATOR_COOKIE)].flatMap((c) => dash.sessions.get(c) ?? []);
  return shown.split(",", MAX_SHOWN_PAGE_KEYS).flatMap((key, i) => (live.some((s) => showsPageKey(s, key)) ? [] : [i]));
}

/** Whether `session` is still live and named by one of the request's `name` cookies (a stream's
 *  heartbeat: signed out or evicted meanwhile ends it). */
export function stillSignedIn(dash: Dashboard, request: Request, name: string, session: DashboardSession): boolean {
  return readCookies(request.headers.get("cookie"), name).some((c) => dash.sessions.get(c) === session);
}

/** The member viewer of this request. Throws unauthorized (no or expired session, or a session of
 *  another member than MEMBER_HEADER names), page_key_required (the cookie without its page key;
 *  `from` says where the key may be), revoked, or rate_limited (the session spent its frame
 *  allowance; signedInViewer does not charge it). */
export async function viewerOf(ctx: BrokerContext, dash: Dashboard, request: Request, from: KeyFrom = "header"): Promise<Viewer> {
  const v = await signedInViewer(ctx, dash, request, from);
  // A request as the member costs its session's frame allowance, as a request on a connection
  // does (protocol §2.2). An HTTP request cannot be left unread, so past it the answer is 429.
  const key = `dashboard ${v.session.pageKeyHash}`;
  const wait = ctx.frameAllowance.waitMs(key);
  if (wait > 0) throw new MeshError("rate_limited", "This dashboard session is asking faster than the broker answers one connection; it retries shortly.", { retryAfterMs: wait, limit: "frames" });
  ctx.frameAllowance.spend(key, 1);
  return v;
}

/** viewerOf without the cost: for asking only whether the session is still open. */
export async function signedInViewer(ctx: BrokerContext, dash: Dashboard, request: Request, from: KeyFrom = "header"): Promise<Viewer> {
  const session = keyedSession(dash, request, MEMBER_COOKIE, from);
  if (!session || session.kind !== "member") throw new MeshError("unauthorized", LOGIN_HINT);
  const named = request.headers.get(MEMBER_HEADER);
  if (named !== null && named !== `${session.meshId}/${session.memberId}`) throw new MeshError("unauthorized", CHANGED_HINT);
  const member = await ctx.store.getMember(session.meshId, session.memberId);
  if (!member) throw new MeshError("unauthorized", LOGIN_HINT);
  if (member.revokedAt !== null) throw new MeshError("revoked", "You were removed from this mesh; the dashboard session has ended.");
  const conn = new Conn(NO_SOCKET, ctx.bootId);
  conn.identity = memberIdentity(member);
  return { member, conn, session };
}

/** Checks the operator credential: the cookie's session (opened with the token still current,
 *  shown with its page key) or a Bearer token. Throws page_key_required (the cookie without its
 *  page key) or unauthorized otherwise. */
export async function requireOperator(ctx: BrokerContext, dash: Dashboard, request: Request): Promise<void> {
  const token = bearerToken(request);
  if (token !== null) {
    if (await verifyOperatorToken(ctx.store, token)) return;
    dash.refusedLogins.note({ kind: "operator bearer token", ip: clientIpOf(ctx, dash, request), reason: "unauthorized" });
    // A wrong token costs a try from the same per-address allowance as a login.
    dash.logins.take(dash.server?.requestIP(request)?.address, request.headers.get("x-forwarded-for"));
    throw new MeshError("unauthorized", "That is not the current operator token.");
  }
  const session = keyedSession(dash, request, OPERATOR_COOKIE, "header");
  const current = await currentOperatorTokenHash(ctx.store);
  if (session?.kind === "operator" && current !== null && safeEqual(session.tokenHash, current)) return;
  throw new MeshError("unauthorized", "Broker-wide views need the operator token (printed by the first `claudemesh serve`, or a new one from `claudemesh admin token`).");
}

/** The client's address for the log: the peer, or what a trusted proxy says it forwarded for. */
export const clientIpOf = (ctx: BrokerContext, dash: Dashboard, request: Request): string | undefined => {
  const direct = dash.server?.requestIP(request)?.address;
  return direct === undefined ? undefined : requestIp(direct, request, ctx.config.trustedProxies);
};

/** The hash an operator session records, so that replacing the token ends it. */
export const operatorTokenHash = (token: string) => sha256Hex(token);

/** Refuses a state-changing request that a browser could have sent from another site: one from
 *  another origin, or one whose body is not declared JSON. SameSite=Strict already keeps the
 *  cookie off cross-site requests; these are the second and third locks (a cross-site form or a
 *  "simple" fetch cannot send application/json without a CORS preflight, which gets no consent).
 *  The origin may be this request's Host, the host a trusted proxy forwarded (X-Forwarded-Host),
 *  or the configured publicUrl's, so a proxy that rewrites Host does not lock the dashboard out.
 *  An http page never acts on a dashboard reached over https (directly, or through a trusted
 *  proxy that says so); an https origin is accepted either way, since only the host's
 *  certificate holder can serve it (and a TLS proxy we are not told about looks like http). */
export function requireSameOriginJson(ctx: BrokerContext, dash: Dashboard, request: Request): void {
  const type = request.headers.get("content-type") ?? "";
  if (!/^application\/json\s*(;|$)/i.test(type)) throw new MeshError("invalid_argument", "Dashboard requests that change something must send a JSON body (Content-Type: application/json).");
  const origin = request.headers.get("origin");
  if (origin === null) return; // not a browser, or a same-origin GET
  let from: URL | null = null;
  try {
    from = new URL(origin);
  } catch {}
  const allowed = new Set<string>();
  const host = request.headers.get("host");
  if (host) allowed.add(host);
  const forwarded = request.headers.get("x-forwarded-host");
  if (forwarded && fromTrustedProxy(request, dash.server, ctx.config.trustedProxies)) allowed.add(forwarded.split(",")[0]!.trim());
  if (ctx.config.publicUrl) {
    try {
      allowed.add(new URL(ctx.config.publicUrl).host);
    } catch {}
  }
  const schemeOk = from?.protocol === "https:" || (from?.protocol === "http:" && !isHttps(request, dash.server, ctx.config.trustedProxies, ctx.config.tlsCert !== ""));
  const same = from !== null && [...allowed].some((h) => sameHost(h, from));
  if (from === null || !schemeOk || !same) throw new MeshError("forbidden", "Cross-origin requests to the dashboard are refused.");
}

/** Whether a Host-style `host` names the origin `from`: in any case, and with the origin scheme's
 *  default port written out or not (a proxy may pass on `Host: example.com:443`, while the
 *  browser's Origin omits it). */
function sameHost(host: string, from: URL): boolean {
  const port = from.protocol === "https:" ? ":443" : ":80";
  const bare = (h: string) => (h.toLowerCase().endsWith(port) ? h.slice(0, -port.length) : h).toLowerCase();
  return bare(host) === bare(from.host);
}

/** Whether the browser reached us over https: directly, or through a trusted proxy that says so.
 *  `servesTls`: the broker terminates TLS itself (tlsCert), and then has no plain-HTTP listener;
 *  the routes see http:// URLs either way (path-prefix.ts). */
export function isHttps(request: Request, server: Pick<Server<unknown>, "requestIP"> | null, trustedProxies: readonly string[], servesTls = false): boolean {
  if (servesTls || new URL(request.url).protocol === "https:") return true;
  return fromTrustedProxy(request, server, trustedProxies) && request.headers.get("x-forwarded-proto") === "https";
}

/** Whether the request came straight from a trusted proxy: only then are its X-Forwarded-* believed. */
function fromTrustedProxy(request: Request, server: Pick<Server<unknown>, "requestIP"> | null, trustedProxies: readonly string[]): boolean {
  return isTrustedProxy(server?.requestIP(request)?.address ?? "", trustedProxies);
}
