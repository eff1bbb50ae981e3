// POST /hook/set-status: Claude Code hooks report working/idle. Authenticated by the hook token a
// presence received in hello_ack (Bearer), or by a request signed with the member or session key.
// Nothing in the body (cwd, pid) is trusted to pick the peer.
import { bearerToken } from "./bearer.ts";
import { Elysia } from "elysia";
import { MeshError } from "../../protocol/errors.ts";
import { HookStatusBody, type HookStatusBodyT } from "../../protocol/http-bodies.ts";
import type { Status } from "../../protocol/fields.ts";
import { safeEqual } from "../../crypto/hash.ts";
import type { BrokerContext } from "../context.ts";
import { applyStatus } from "../handlers/presence.ts";
import { admitRequest } from "../handlers/index.ts";
import type { Presence } from "../hub.ts";
import { nextStatus } from "../gating.ts";
import { SIGNED_HEADERS, verifySignedRequest } from "./signed-request.ts";
import { counting } from "./refusals.ts";
import { BODY_ERRORS, describe, SIGNED_ERRORS } from "./openapi.ts";

type Outcome = { status: Status; online: boolean };

const online = async (ctx: BrokerContext, p: Presence, body: HookStatusBodyT): Promise<Outcome> => ({ status: await applyStatus(ctx, p, body.status, "hook", body.summary), online: true });

/** The hook is set_status over HTTP: the same admission (draining, a removal under way) applies. */
async function byToken(ctx: BrokerContext, token: string, body: HookStatusBodyT): Promise<Outcome> {
  const p = ctx.hub.byHookToken(token);
  if (!p || !safeEqual(p.hookToken, token)) throw new MeshError("unauthorized", "Unknown or expired hook token; the session must reconnect.");
  admitRequest(ctx, p.identity, "set_status");
  return online(ctx, p, body);
}

/** The stored status of an offline signer, an active member or a live session of one, and the
 *  member it acts for. */
async function offlineSigner(ctx: BrokerContext, meshId: string, key: string): Promise<{ status: Status; memberId: string }> {
  const member = await ctx.store.getMemberByPubkey(meshId, key);
  const session = member ? null : await ctx.store.getSession(meshId, key);
  const owner = member ?? (session && session.endedAt === null ? await ctx.store.getMember(meshId, session.memberId) : null);
  if (!owner || owner.revokedAt !== null) throw new MeshError("unauthorized", "The signing key is not an active member or session of that mesh.");
  return { status: (member ?? session)!.status, memberId: owner.id };
}

async function bySignature(ctx: BrokerContext, request: Request, raw: string, body: HookStatusBodyT): Promise<Outcome> {
  // No credential at all (a hook whose token variable came out empty, say) is 401, as §6.2 says,
  // not a complaint about the body of a signed request nobody made.
  if (!request.headers.get(SIGNED_HEADERS.pubkey) && !request.headers.get(SIGNED_HEADERS.signature)) {
    throw new MeshError("unauthorized", "Send the hook token from hello_ack (Authorization: Bearer <token>), or sign the request (X-Claudemesh-Pubkey, -Timestamp, -Signature).");
  }
  const meshId = body.meshId;
  if (!meshId) throw new MeshError("invalid_argument", "A signed hook request must name meshId.");
  // Who signed, and whether the broker may act for them now, is settled before the signature is
  // recorded: a key nobody enrolled, or a request refused while the broker drains or the member's
  // removal commits, costs no write. A request refused so was not accepted, so taking it once
  // later breaks no replay rule; any request is recorded before it is applied, so never twice.
  let stored: { status: Status; memberId: string } | null = null;
  const signer = await verifySignedRequest(ctx.store, { method: "POST", path: "/hook/set-status", headers: request.headers, body: raw }, ctx.now(), async (key) => {
    const p = ctx.hub.get(meshId, key);
    if (!p) stored = await offlineSigner(ctx, meshId, key);
    admitRequest(ctx, { meshId, memberId: p ? p.identity.memberId : stored!.memberId }, "set_status");
  });
  const p = ctx.hub.get(meshId, signer);
  if (p) return online(ctx, p, body);
  // Offline (perhaps since a moment ago): the status is stored and shown as that peer's last one.
  const record = stored ?? (await offlineSigner(ctx, meshId, signer));
  const status = nextStatus(record.status, body.status, "hook");
  await ctx.store.setPresence(meshId, signer, { status, ...(body.summary !== undefined ? { summary: body.summary } : {}) });
  await ctx.roster.refresh(meshId, signer); // list_peers shows an offline peer's stored status
  return { status, online: false };
}

export function hookRoutes(ctx: BrokerContext, rawBody: (req: Request) => string) {
  return new Elysia({ name: "hook" }).use(counting).post(
    "/hook/set-status",
    async ({ body, request }) => {
      const token = bearerToken(request);
      const out = token !== null ? await byToken(ctx, token, body) : await bySignature(ctx, request, rawBody(request), body);
      return { ok: true, ...out };
    },
    {
      body: HookStatusBody,
      counted: "hook",
      detail: { summary: "Set status from a Claude Code hook", description: "Bearer hook token from hello_ack, or a signed request. dnd set by hand is kept.", tags: ["presence"], ...describe({ auth: "hook", ok: { 200: "Applied: the status now in force, and whether the presence is online." }, errors: [...BODY_ERRORS, ...SIGNED_ERRORS, "revoked", "rate_limited", "unavailable"] }) },
    },
  );
}
