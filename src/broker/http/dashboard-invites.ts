// Invites from the dashboard, for owners and admins. The page signs each invite with the member
// key and seals the mesh keys with the link's secret, as `claudemesh invite` does; the broker runs
// the invite_create / invite_list / invite_revoke frames through runRequest, as for a WebSocket:
// the handlers make the owner/admin check, and creating or revoking spends the member's change
// allowance.
import { Elysia } from "elysia";
import { DashboardInviteBody } from "../../protocol/http-bodies.ts";
import type { BrokerContext } from "../context.ts";
import type { Dashboard } from "../dashboard-state.ts";
import { runRequest } from "../handlers/index.ts";
import { requireSameOriginJson, viewerOf } from "./dashboard-auth.ts";
import { counting } from "./refusals.ts";
import { inviteIdParam } from "./path-params.ts";
import { BODY_ERRORS, describe, MEMBER_ERRORS } from "./openapi.ts";

const tags = ["dashboard"];

export function dashboardInviteRoutes(ctx: BrokerContext, dash: Dashboard) {
  return new Elysia({ name: "dashboard-invites" })
    .use(counting)
    .get(
      "/v1/dashboard/invites",
      async ({ request }) => {
        const v = await viewerOf(ctx, dash, request);
        return runRequest(ctx, v.conn, { type: "invite_list", id: "dashboard" });
      },
      { counted: "request", detail: { summary: "The mesh's invites with uses left (owner/admin)", tags, ...describe({ auth: "member", ok: { 200: "The invites." }, errors: [...MEMBER_ERRORS, "forbidden"] }) } },
    )
    .post(
      "/v1/dashboard/invites",
      async ({ body, request, set }) => {
        requireSameOriginJson(ctx, dash, request);
        const v = await viewerOf(ctx, dash, request);
        const result = await runRequest(ctx, v.conn, { type: "invite_create", id: "dashboard", ...body });
        set.status = 201;
        return result;
      },
      { body: DashboardInviteBody, counted: "request", detail: { summary: "Register an invite signed in the page (owner/admin)", description: "Same fields and checks as the invite_create frame (§4.3.22).", tags, ...describe({ auth: "member", ok: { 201: "Registered: the invite." }, errors: [...BODY_ERRORS, ...MEMBER_ERRORS, "forbidden", "bad_invite", "unsupported_version", "conflict", "rate_limited"] }) } },
    )
    .post(
      "/v1/dashboard/invites/:inviteId/revoke",
      async ({ params, request }) => {
        // Checked first, as the claim route does: a malformed id is refused before any credential.
        const inviteId = inviteIdParam(params.inviteId);
        requireSameOriginJson(ctx, dash, request);
        const v = await viewerOf(ctx, dash, request);
        return runRequest(ctx, v.conn, { type: "invite_revoke", id: "dashboard", inviteId });
      },
      { counted: "request", detail: { summary: "Revoke an invite (owner/admin)", tags, ...describe({ auth: "member", ok: { 200: "Revoked (or already revoked)." }, errors: [...MEMBER_ERRORS, "invalid_argument", "forbidden", "not_found", "rate_limited"] }) } },
    );
}
