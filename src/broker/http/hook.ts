// POST /hook/set-status: Claude Code hooks report working/idle. Authenticated by the hook token a
// presence received in hello_ack (Bearer), or by a request signed with the member or session key.
// Nothing in the body (cwd, pid) is trusted to pick the peer.
import { Elysia } from "elysia";
import { MeshError } from "../../protocol/errors.ts";
import { HookStatusBody, type HookStatusBodyT } from "../../protocol/http-bodies.ts";
import type { Status } from "../../protocol/fields.ts";
import { safeEqual } from "../../crypto/hash.ts";
import type { BrokerContext } from "../context.ts";
import { applyStatus } from "../handlers/presence.ts";
import { nextStatus } from "../gating.ts";
import { verifySignedRequest } from "./signed-request.ts";

type Outcome = { status: Status; online: boolean };

async function byToken(ctx: BrokerContext, token: string, body: HookStatusBodyT): Promise<Outcome> {
  const p = ctx.hub.byHookToken(token);
  if (!p || !safeEqual(p.hookToken, token)) throw new MeshError("unauthorized", "Unknown or expired hook token; the session must reconnect.");
  return { status: await applyStatus(ctx, p, body.status, "hook", body.summary), online: true };
}

async function bySignature(ctx: BrokerContext, request: Request, raw: string, body: HookStatusBodyT): Promise<Outcome> {
  const signer = await verifySignedRequest(ctx.store, { method: "POST", path: "/hook/set-status", headers: request.headers, body: raw }, ctx.now());
  if (!body.meshId) throw new MeshError("invalid_argument", "A signed hook request must name meshId.");
  const p = ctx.hub.get(body.meshId, signer);
  if (p) return { status: await applyStatus(ctx, p, body.status, "hook", body.summary), online: true };
  // Offline: the key must belong to an active member, or to a live session of one. The status is
  // stored and shown to peers as that peer's last status.
  const member = await ctx.store.getMemberByPubkey(body.meshId, signer);
  const session = member ? null : await ctx.store.getSession(body.meshId, signer);
  const owner = member ?? (session && session.endedAt === null ? await ctx.store.getMember(body.meshId, session.memberId) : null);
  if (!owner || owner.revokedAt !== null) throw new MeshError("unauthorized", "The signing key is not an active member or session of that mesh.");
  const status = nextStatus((member ?? session)!.status, body.status, "hook");
  await ctx.store.setPresence(body.meshId, signer, { status, ...(body.summary !== undefined ? { summary: body.summary } : {}) });
  ctx.roster.invalidate(body.meshId); // list_peers shows an offline peer's stored status
  return { status, online: false };
}

export function hookRoutes(ctx: BrokerContext, rawBody: (req: Request) => string) {
  return new Elysia({ name: "hook" }).post(
    "/hook/set-status",
    async ({ body, request }) => {
      try {
        const auth = request.headers.get("authorization") ?? "";
        const out = auth.startsWith("Bearer ") ? await byToken(ctx, auth.slice(7).trim(), body) : await bySignature(ctx, request, rawBody(request), body);
        ctx.metrics.hookRequests.inc({ outcome: "ok" });
        return { ok: true, ...out };
      } catch (err) {
        ctx.metrics.hookRequests.inc({ outcome: err instanceof MeshError ? err.code : "internal" });
        throw err;
      }
    },
    { body: HookStatusBody, detail: { summary: "Set status from a Claude Code hook", description: "Bearer hook token from hello_ack, or a signed request. dnd set by hand is kept.", tags: ["presence"] } },
  );
}
