// POST /hook/set-status: Claude Code hooks report working/idle. Authenticated by the hook token a
// presence received in hello_ack (Bearer), or by a request signed with the member or session key.
// Nothing in the body (cwd, pid) is trusted to pick the peer.
import { Elysia } from "elysia";
import { MeshError } from "../../protocol/errors.ts";
import { HookStatusBody } from "../../protocol/http-bodies.ts";
import { safeEqual } from "../../crypto/hash.ts";
import type { BrokerContext } from "../context.ts";
import type { Presence } from "../hub.ts";
import { applyStatus } from "../handlers/presence.ts";
import { verifySignedRequest } from "./signed-request.ts";

async function presencesFor(ctx: BrokerContext, request: Request, body: string, meshId: string | undefined): Promise<Presence[]> {
  const auth = request.headers.get("authorization") ?? "";
  if (auth.startsWith("Bearer ")) {
    const token = auth.slice(7).trim();
    const p = ctx.hub.byHookToken(token);
    if (!p || !safeEqual(p.hookToken, token)) throw new MeshError("unauthorized", "Unknown or expired hook token; the session must reconnect.");
    return [p];
  }
  const signer = await verifySignedRequest(ctx.store, { method: "POST", path: "/hook/set-status", headers: request.headers, body }, ctx.now());
  if (!meshId) throw new MeshError("invalid_argument", "A signed hook request must name meshId.");
  const p = ctx.hub.get(meshId, signer);
  if (!p) {
    const member = await ctx.store.getMemberByPubkey(meshId, signer);
    const session = member ? null : await ctx.store.getSession(meshId, signer);
    if (!member && !session) throw new MeshError("unauthorized", "The signing key is not a member or session of that mesh.");
    return [];
  }
  return [p];
}

export function hookRoutes(ctx: BrokerContext, rawBody: (req: Request) => string) {
  return new Elysia({ name: "hook" }).post(
    "/hook/set-status",
    async ({ body, request }) => {
      try {
        const targets = await presencesFor(ctx, request, rawBody(request), body.meshId);
        let status = body.status;
        for (const p of targets) status = await applyStatus(ctx, p, body.status, "hook", body.summary);
        ctx.metrics.hookRequests.inc({ outcome: "ok" });
        return { ok: true, status, online: targets.length > 0 };
      } catch (err) {
        ctx.metrics.hookRequests.inc({ outcome: err instanceof MeshError ? err.code : "internal" });
        throw err;
      }
    },
    { body: HookStatusBody, detail: { summary: "Set status from a Claude Code hook", description: "Bearer hook token from hello_ack, or a signed request. dnd set by hand is kept.", tags: ["presence"] } },
  );
}
