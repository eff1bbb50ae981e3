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
import { BODY_ERRORS, describe, MEMBER_ERRORS, queryParam as queryParamDoc } from "./openapi.ts";
import { queryParam } from "./query.ts";
import { ID_RE } from "../../crypto/fields.ts";
import { MeshError } from "../../protocol/errors.ts";
import { MAX_PAGE } from "../../protocol/limits.ts";
import type { ClientFrameOf } from "../../protocol/frames.ts";

const tags = ["dashboard"];

export function dashboardInviteRoutes(ctx: BrokerContext, dash: Dashboard) {
  return new Elysia({ name: "dashboard-invites" })
    .use(counting)
    .get(
      "/v1/dashboard/invites",
      async ({ request }) => {
        // Checked first, as the path segments are: bad input is refused before any credential.
        const page = invitePageQuery(request);
        const v = await viewerOf(ctx, dash, request);
        return runRequest(ctx, v.conn, { type: "invite_list", id: "dashboard", ...page });
      },
      {
        counted: "request",
        detail: {
          summary: "A page of the mesh's invites, oldest first (owner/admin)",
          description: "Answers like invite_list (§4.3.23): `after`, `limit` and `open` are its afterInviteId, limit and open; without any of them, its plain request (every invite while the mesh has at most 500, else 400 unsupported_version).",
          tags,
          ...describe({
            auth: "member",
            ok: { 200: "As invite_list's result: the invites, and `next` (null at the end of the list, else the `after` of the page after)." },
            errors: [...MEMBER_ERRORS, "invalid_argument", "forbidden", "unsupported_version"],
            parameters: [
              queryParamDoc("after", "The invite the page starts after: the `next` of the page before (absent: from the first).", { type: "string", pattern: "^[A-Za-z0-9_-]{8,64}$" }),
              queryParamDoc("limit", `Most invites in the page, 1 to ${MAX_PAGE} (default 100).`, { type: "string", pattern: "^[0-9]{1,3}$" }),
              queryParamDoc("open", "true: only open invites (not revoked, not used up, not expired).", { type: "string", enum: ["true", "false"] }),
            ],
          }),
        },
      },
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

/** The invite_list fields a GET /v1/dashboard/invites names in its query (docs/protocol.md §6.7):
 *  `after`, `limit` and `open`, each at most once. None: the plain request. Throws MeshError
 *  invalid_argument for a value of another shape. */
function invitePageQuery(request: Request): Omit<ClientFrameOf<"invite_list">, "type" | "id" | "inviteId"> {
  const after = queryParam(request, "after");
  const limit = queryParam(request, "limit");
  const open = queryParam(request, "open");
  if (after !== undefined && !ID_RE.test(after)) throw new MeshError("invalid_argument", "The query parameter after must be an invite id (8–64 characters of A-Z a-z 0-9 _ -): the next of the page before.");
  if (limit !== undefined && !(/^\d{1,3}$/.test(limit) && Number(limit) >= 1 && Number(limit) <= MAX_PAGE)) throw new MeshError("invalid_argument", `The query parameter limit must be a whole number from 1 to ${MAX_PAGE}.`);
  if (open !== undefined && open !== "true" && open !== "false") throw new MeshError("invalid_argument", "The query parameter open must be true or false.");
  return { ...(after === undefined ? {} : { afterInviteId: after }), ...(limit === undefined ? {} : { limit: Number(limit) }), ...(open === undefined ? {} : { open: open === "true" }) };
}
