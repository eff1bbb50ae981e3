// Dashboard sign-in and sign-out: a member's login link (§3.7) or the operator token becomes an
// HttpOnly, SameSite=Strict cookie that lasts SESSION_TTL_MS, and a page key (PAGE_KEY_HEADER of
// the answer) that every later request must show beside the cookie. Signing out needs no key:
// ending a session gives nothing away, and a page of another port could end it anyway by
// overwriting the cookie.
import { Elysia } from "elysia";
import { MeshError } from "../../protocol/errors.ts";
import { PAGE_KEY_HEADER, PAGE_KEYS_ENDED_HEADER } from "../../protocol/dashboard-keys.ts";
import { DashboardLoginBody, OperatorLoginBody } from "../../protocol/http-bodies.ts";
import type { BrokerContext } from "../context.ts";
import type { Dashboard } from "../dashboard-state.ts";
import { verifyDashboardLogin } from "../dashboard-login.ts";
import { MEMBER_COOKIE, OPERATOR_COOKIE, SESSION_TTL_MS, cookieHeader, readCookies, type DashboardSession } from "../dashboard-sessions.ts";
import { verifyOperatorToken } from "../operator.ts";
import { isAdmin, memberInfo } from "../handlers/admin.ts";
import { clientIpOf, endedPageKeys, isHttps, operatorTokenHash, requireOperator, requireSameOriginJson, signedInViewer, viewerOf } from "./dashboard-auth.ts";
import { BODY_ERRORS, describe, MEMBER_ERRORS } from "./openapi.ts";

const tags = ["dashboard"];
const ttlS = SESSION_TTL_MS / 1000;

export function dashboardSessionRoutes(ctx: BrokerContext, dash: Dashboard) {
  const secure = (request: Request) => isHttps(request, dash.server, ctx.config.trustedProxies, ctx.config.tlsCert !== "");
  /** When a session ends, by the broker's wall clock of now (its age runs on the monotonic clock). */
  const endsAt = (session: DashboardSession) => ctx.now() + dash.sessions.remainingMs(session);
  const throttled = (request: Request) => dash.logins.take(dash.server?.requestIP(request)?.address, request.headers.get("x-forwarded-for"));
  /** Runs a login; the operator hears of each one that succeeds and, at a bounded rate, of those
   *  refused (a wrong token, a replayed link, the throttle), with the client's address. */
  const logged = async <T>(kind: "member" | "operator", request: Request, login: () => Promise<T>, who: (r: T) => Record<string, unknown>): Promise<T> => {
    const ip = clientIpOf(ctx, dash, request);
    try {
      const r = await login();
      ctx.log.info("dashboard login", { kind, ip, ...who(r) });
      return r;
    } catch (err) {
      if (err instanceof MeshError) dash.refusedLogins.note({ kind, ip, reason: err.code });
      throw err;
    }
  };
  /** Names the page keys the request showed that open nothing any more (PAGE_KEYS_ENDED_HEADER),
   *  so that the page forgets exactly those; on the answers that change or report which sessions
   *  this browser holds. */
  const reportEnded = (request: Request, headers: Record<string, unknown> | Headers) => {
    const ended = endedPageKeys(dash, request);
    if (ended.length === 0) return;
    if (headers instanceof Headers) headers.set(PAGE_KEYS_ENDED_HEADER, ended.join(","));
    else headers[PAGE_KEYS_ENDED_HEADER] = ended.join(",");
  };
  return new Elysia({ name: "dashboard-session" })
    .post(
      "/v1/dashboard/login",
      async ({ body, request, set }) => {
        requireSameOriginJson(ctx, dash, request);
        const member = await logged("member", request, async () => {
          throttled(request);
          // Refuse at the broker-wide ceiling before the single-use link is spent.
          dash.sessions.checkRoom({ kind: "member", meshId: body.meshId, memberId: body.memberId });
          return verifyDashboardLogin(ctx, body);
        }, (m) => ({ meshId: m.meshId, memberId: m.id }));
        const { token, pageKey, session } = dash.sessions.open({ kind: "member", meshId: member.meshId, memberId: member.id });
        // One member session per browser: the one whose cookie this replaces ends now (its streams
        // at their next heartbeat), so that tabs still showing it notice, instead of it lingering
        // for 8 h where no request can reach it but its open streams.
        for (const c of readCookies(request.headers.get("cookie"), MEMBER_COOKIE)) dash.sessions.close(c);
        set.headers["set-cookie"] = cookieHeader(MEMBER_COOKIE, token, ttlS, secure(request));
        set.headers[PAGE_KEY_HEADER] = pageKey;
        reportEnded(request, set.headers);
        return { member: memberInfo(member), meshId: member.meshId, expiresAt: endsAt(session) };
      },
      { body: DashboardLoginBody, detail: { summary: "Exchange a dashboard login link for a session cookie", description: "The link from `claudemesh dashboard`: §3.7 signed by the member key, at most 5 minutes valid, single use. Throttled per client address (429 rate_limited). The answer's X-Dashboard-Page-Key must accompany the cookie on every later call (401 page_key_required).", tags, ...describe({ auth: "none", ok: { 200: "Signed in: a Set-Cookie, and the page key in X-Dashboard-Page-Key." }, errors: [...BODY_ERRORS, "forbidden", "rate_limited", "expired", "ttl_too_long", "unauthorized", "bad_signature", "revoked", "replayed", "unavailable"] }) } },
    )
    .post(
      "/v1/dashboard/logout",
      ({ request }) => {
        requireSameOriginJson(ctx, dash, request);
        const cookies = request.headers.get("cookie");
        // Every value: a shadowing cookie another port's page set must not keep the real one open.
        for (const c of [...readCookies(cookies, MEMBER_COOKIE), ...readCookies(cookies, OPERATOR_COOKIE)]) dash.sessions.close(c);
        const https = secure(request);
        const headers = new Headers({ "content-type": "application/json" });
        headers.append("set-cookie", cookieHeader(MEMBER_COOKIE, "", 0, https));
        headers.append("set-cookie", cookieHeader(OPERATOR_COOKIE, "", 0, https));
        reportEnded(request, headers);
        return new Response(JSON.stringify({ loggedOut: true }), { headers });
      },
      { detail: { summary: "End the dashboard sessions of this browser", tags, ...describe({ auth: "none", ok: { 200: "Signed out: both cookies cleared." }, errors: ["invalid_argument", "forbidden"] }) } },
    )
    .get(
      "/v1/dashboard/session",
      async ({ request, set }) => {
        reportEnded(request, set.headers);
        return {
          member: await signedInViewer(ctx, dash, request).then(() => true, () => false),
          operator: await requireOperator(ctx, dash, request).then(() => true, () => false),
        };
      },
      { detail: { summary: "Which dashboard sessions this request opens: a cookie shown with its page key, or the operator's Bearer token (never an error)", tags, ...describe({ auth: "none", ok: { 200: "`member` and `operator`: whether each session is open." }, errors: [] }) } },
    )
    .get(
      "/v1/dashboard/me",
      async ({ request }) => {
        const v = await viewerOf(ctx, dash, request);
        const mesh = await ctx.store.getMesh(v.member.meshId);
        if (!mesh) throw new MeshError("not_found");
        return { member: memberInfo(v.member), admin: isAdmin(v.member), mesh, sessionExpiresAt: endsAt(v.session), version: dash.version };
      },
      { detail: { summary: "The signed-in member, their mesh and role", tags, ...describe({ auth: "member", ok: { 200: "The member, the mesh, and when the session ends." }, errors: [...MEMBER_ERRORS, "not_found"] }) } },
    )
    .post(
      "/v1/dashboard/operator/login",
      async ({ body, request, set }) => {
        requireSameOriginJson(ctx, dash, request);
        await logged("operator", request, async () => {
          throttled(request);
          if (!(await verifyOperatorToken(ctx.store, body.token))) throw new MeshError("unauthorized", "That is not the current operator token.");
        }, () => ({}));
        const { token, pageKey, session } = dash.sessions.open({ kind: "operator", tokenHash: operatorTokenHash(body.token) });
        // As for a member: the operator session whose cookie this replaces is out of reach now.
        for (const c of readCookies(request.headers.get("cookie"), OPERATOR_COOKIE)) dash.sessions.close(c);
        set.headers["set-cookie"] = cookieHeader(OPERATOR_COOKIE, token, ttlS, secure(request));
        set.headers[PAGE_KEY_HEADER] = pageKey;
        reportEnded(request, set.headers);
        return { operator: true, expiresAt: endsAt(session) };
      },
      { body: OperatorLoginBody, detail: { summary: "Exchange the operator token for an operator cookie", description: "The answer's X-Dashboard-Page-Key must accompany the cookie on every later call (401 page_key_required).", tags, ...describe({ auth: "none", ok: { 200: "Signed in: a Set-Cookie, and the page key in X-Dashboard-Page-Key." }, errors: [...BODY_ERRORS, "forbidden", "rate_limited", "unauthorized", "unavailable"] }) } },
    );
}
