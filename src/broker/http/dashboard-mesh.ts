// What a signed-in member sees of their own mesh: members and live sessions, topics (metadata
// only), grants and removals, the audit chain with its verification, and the broker's charts.
// Every route is scoped to the session's mesh; none takes a mesh id from the request.
import { Elysia } from "elysia";
import { MeshError } from "../../protocol/errors.ts";
import type { Grant, Member } from "../../store/types.ts";
import { overriddenBy, type KnownSender } from "../../protocol/grant-precedence.ts";
import type { BrokerContext } from "../context.ts";
import type { Dashboard } from "../dashboard-state.ts";
import { SAMPLE_INTERVAL_MS } from "../dashboard-samples.ts";
import { DEFAULT_CAPS } from "../grants.ts";
import { shownName } from "../peer-rows.ts";
import { isAdmin, memberInfo } from "../handlers/admin.ts";
import { runRequest } from "../handlers/index.ts";
import { requireOperator, viewerOf } from "./dashboard-auth.ts";
import { counting } from "./refusals.ts";
import { describe, MEMBER_ERRORS } from "./openapi.ts";

const tags = ["dashboard"];
/** Most audit entries a page shows (the verification covers the whole chain). */
const AUDIT_PAGE = 200;

/** Grants by recipient member id, each list ordered by sender key (as listGrants orders it). */
function byRecipient(rows: readonly Grant[]): Map<string, Grant[]> {
  const out = new Map<string, Grant[]>();
  for (const g of [...rows].sort((x, y) => (x.senderPubkey < y.senderPubkey ? -1 : x.senderPubkey > y.senderPubkey ? 1 : 0))) {
    const list = out.get(g.recipientMemberId);
    if (list) list.push(g);
    else out.set(g.recipientMemberId, [g]);
  }
  return out;
}

/** Who holds each sender key of a grant, as `claudemesh grants` names it from list_peers: a member
 *  (removed ones too, by name), or a session of the roster (the live ones and those seen lately,
 *  by the name it goes by now) with its member's key. A key neither holds is unknown. */
async function sendersOf(ctx: BrokerContext, meshId: string, members: readonly Member[]): Promise<(key: string) => (KnownSender & { name: string }) | undefined> {
  const roster = await ctx.roster.get(meshId);
  const byKey = new Map(members.map((m) => [m.pubkey, m]));
  return (key) => {
    const m = byKey.get(key);
    if (m) return { kind: "member", memberPubkey: m.pubkey, name: m.displayName };
    const row = roster.sessions.get(key);
    const member = row && roster.members.get(row.memberId);
    return row && member ? { kind: "session", memberPubkey: member.pubkey, name: shownName(ctx, meshId, { kind: "session", row, member }) } : undefined;
  };
}

export function dashboardMeshRoutes(ctx: BrokerContext, dash: Dashboard) {
  return new Elysia({ name: "dashboard-mesh" })
    .use(counting)
    .get(
      "/v1/dashboard/mesh",
      async ({ request }) => {
        const v = await viewerOf(ctx, dash, request);
        const meshId = v.member.meshId;
        // Admitted (list_peers) before anything else of the mesh is read.
        const { peers } = await runRequest(ctx, v.conn, { type: "list_peers", id: "dashboard" });
        const [mesh, members] = await Promise.all([ctx.store.getMesh(meshId), ctx.store.listMembers(meshId)]);
        if (!mesh) throw new MeshError("not_found");
        return { mesh, members: members.map((m) => ({ ...memberInfo(m), status: m.status, summary: m.summary, lastSeenAt: m.lastSeenAt })), peers };
      },
      { counted: "request", detail: { summary: "Members and sessions of your mesh, with presence", tags, ...describe({ auth: "member", ok: { 200: "The mesh, its members and the peers online." }, errors: [...MEMBER_ERRORS, "not_found"] }) } },
    )
    .get(
      "/v1/dashboard/topics",
      async ({ request }) => {
        const v = await viewerOf(ctx, dash, request);
        const topics = await ctx.store.listTopics(v.member.meshId);
        await ctx.store.flushed(); // a lastOffset may be a post committed, not yet flushed (as topic_list)
        return {
          topics: await Promise.all(
            topics.map(async (t) => {
              const last = t.lastOffset > 0 ? (await ctx.store.topicHistory(t.id, t.lastOffset - 1, 1)).messages[0] : undefined;
              return { name: t.name, description: t.description, createdAt: t.createdAt, members: t.members, messages: t.lastOffset, lastActivityAt: last?.createdAt ?? null };
            }),
          ),
        };
      },
      { detail: { summary: "Topics with member counts and last activity (metadata only)", tags, ...describe({ auth: "member", ok: { 200: "The topics." }, errors: MEMBER_ERRORS }) } },
    )
    .get(
      "/v1/dashboard/grants",
      async ({ request }) => {
        const v = await viewerOf(ctx, dash, request);
        // Owners and admins see every member's grants and the removals; members see their own.
        const admin = isAdmin(v.member);
        const [members, rows] = await Promise.all([ctx.store.listMembers(v.member.meshId), admin ? ctx.store.meshGrants(v.member.meshId) : ctx.store.listGrants(v.member.id)]);
        const senders = await sendersOf(ctx, v.member.meshId, members);
        const recipients = admin ? members.filter((m) => m.revokedAt === null) : [v.member];
        const of = byRecipient(rows);
        const grants = recipients.flatMap((r) => {
          const entries = of.get(r.id) ?? [];
          const keys = new Set(entries.map((g) => g.senderPubkey));
          return entries.map((g) => {
            const s = senders(g.senderPubkey);
            return { recipient: r.id, recipientName: r.displayName, peer: g.senderPubkey, peerName: s?.name ?? null, peerKind: s?.kind ?? null, caps: g.caps, overriddenBy: overriddenBy(keys, s) };
          });
        });
        // Who removed each one, by name as well: an owner learns which admin did it.
        const nameOf = new Map(members.map((m) => [m.id, m.displayName]));
        const removed = admin ? members.filter((m) => m.revokedAt !== null).map((m) => ({ ...memberInfo(m), revokedByName: (m.revokedBy && nameOf.get(m.revokedBy)) ?? null })) : [];
        return { admin, defaults: [...DEFAULT_CAPS], grants, removed };
      },
      { detail: { summary: "Grants (all for owner/admin, your own otherwise) and removed or banned members", tags, ...describe({ auth: "member", ok: { 200: "The grants and the removals." }, errors: MEMBER_ERRORS }) } },
    )
    .get(
      "/v1/dashboard/audit",
      async ({ request }) => {
        const v = await viewerOf(ctx, dash, request);
        const [verification, entries] = await Promise.all([ctx.audit.verify(v.member.meshId), ctx.store.auditTail(v.member.meshId, AUDIT_PAGE)]);
        return { verification, entries };
      },
      { detail: { summary: "The audit chain (newest first) and its verification by the broker", tags, ...describe({ auth: "member", ok: { 200: "The entries and the verification." }, errors: MEMBER_ERRORS }) } },
    )
    .get(
      "/v1/dashboard/charts",
      async ({ request }) => {
        // Broker-wide counters, the same that /metrics publishes: any member or the operator.
        // Without either, a member cookie shown without its page key says so rather than "not the operator".
        await viewerOf(ctx, dash, request).catch((asMember) =>
          requireOperator(ctx, dash, request).catch((asOperator) => {
            // A member's own session that is merely throttled says so too.
            throw asMember instanceof MeshError && (asMember.code === "page_key_required" || asMember.code === "rate_limited") ? asMember : asOperator;
          }),
        );
        return { intervalMs: SAMPLE_INTERVAL_MS, points: await dash.sampler.points() };
      },
      { detail: { summary: "Connections, messages/s, queue depth and rejections/s over the last hour", tags, ...describe({ auth: "member", ok: { 200: "The samples." }, errors: MEMBER_ERRORS }) } },
    );
}
