// Topic posts from the dashboard, end to end: the page seals each post with the mesh key and the
// member key from its login link (§11.3) and opens history itself; the broker stores and hands out
// ciphertext only. Both routes run the frames (topic_history, send) through runRequest as the
// signed-in member, so membership, grants, rate limits and quotas are the protocol's.
import { Elysia } from "elysia";
import { MeshError } from "../../protocol/errors.ts";
import { DashboardPostBody } from "../../protocol/http-bodies.ts";
import { TOPIC_RE } from "../../crypto/fields.ts";
import type { BrokerContext } from "../context.ts";
import type { Dashboard } from "../dashboard-state.ts";
import { runRequest } from "../handlers/index.ts";
import { requireSameOriginJson, viewerOf } from "./dashboard-auth.ts";
import { queryParam } from "./query.ts";
import { counting } from "./refusals.ts";
import { BODY_ERRORS, describe, MEMBER_ERRORS, pathParam, queryParam as queryParamDoc } from "./openapi.ts";

const tags = ["dashboard"];
/** Posts per history page. */
const PAGE = 100;

/** The `{topic}` path segment, checked. Elysia hands over null for a segment that is not valid
 *  percent-encoding, which RegExp.test would have read as the topic "null". */
function topicOf(name: string | null): string {
  if (typeof name !== "string" || !TOPIC_RE.test(name)) throw new MeshError("invalid_argument", "Not a topic name (a-z 0-9 - _).");
  return name;
}

export function dashboardChatRoutes(ctx: BrokerContext, dash: Dashboard) {
  return new Elysia({ name: "dashboard-chat" })
    .use(counting)
    .get(
      "/v1/dashboard/topics/:topic/history",
      async ({ params, request }) => {
        const v = await viewerOf(ctx, dash, request);
        const given = queryParam(request, "after");
        if (given !== undefined && !/^\d{1,15}$/.test(given)) throw new MeshError("invalid_argument", "The query parameter after must be a topic offset: 1–15 decimal digits.");
        const after = given === undefined ? 0 : Number(given);
        return runRequest(ctx, v.conn, { type: "topic_history", id: "dashboard", topic: topicOf(params.topic), afterOffset: after, limit: PAGE });
      },
      { counted: "request", detail: { summary: "A topic's posts after an offset, as ciphertext (topic members)", description: "Answers like topic_history (§4.3.15); the page opens the posts with the mesh keys from its login link.", tags, ...describe({ auth: "member", ok: { 200: "As topic_history's result: at most 100 posts after `after`, and at most about 1 MiB of ciphertext (the last post's offset below `lastOffset`: read on from it)." }, errors: [...MEMBER_ERRORS, "invalid_argument", "forbidden", "not_found", "rate_limited"], parameters: [pathParam("topic", "The topic name, without #."), queryParamDoc("after", "The last offset already seen (1–15 decimal digits; default 0, from the first).", { type: "string", pattern: "^[0-9]{1,15}$" })] }) } },
    )
    .post(
      "/v1/dashboard/topics/:topic/messages",
      async ({ body, params, request, set }) => {
        requireSameOriginJson(ctx, dash, request);
        const v = await viewerOf(ctx, dash, request);
        const result = await runRequest(ctx, v.conn, { type: "send", id: "dashboard", to: `#${topicOf(params.topic)}`, ...body });
        set.status = 201;
        return result;
      },
      { body: DashboardPostBody, counted: "request", detail: { summary: "Post a sealed message to a topic as the signed-in member", description: "Answers like send (§4.3.3) to #topic.", tags, ...describe({ auth: "member", ok: { 201: "Sent: as send's result." }, errors: [...BODY_ERRORS, ...MEMBER_ERRORS, "forbidden", "unknown_recipient", "rate_limited", "quota_exceeded"] }) } },
    );
}
