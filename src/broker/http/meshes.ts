// Mesh creation and invite claims: the two operations a key that is not yet a member can do.
// Both are authenticated by signatures; neither carries a secret the broker could use. Both are
// throttled per client address, before their signatures are checked.
import { Elysia } from "elysia";
import { MeshError } from "../../protocol/errors.ts";
import { ClaimInviteBody, CreateMeshBody, type ClaimInviteBodyT } from "../../protocol/http-bodies.ts";
import { formatDurationMs } from "../../config/spec.ts";
import { inviteClaimCanonical } from "../../protocol/canonical.ts";
import { verifyDetached } from "../../crypto/sign.ts";
import { randomId } from "../../crypto/hash.ts";
import type { BrokerContext } from "../context.ts";
import { checkSkew, consumeSignature } from "../auth.ts";
import { verifySignedRequest } from "./signed-request.ts";
import { memberInfo } from "../handlers/admin.ts";
import { AddressThrottle } from "../address-throttle.ts";
import { proxyHint, requestIp } from "../client-ip.ts";
import { ThrottledLog } from "../throttled-log.ts";
import { inviteIdParam } from "./path-params.ts";
import { BODY_ERRORS, describe, SIGNED_ERRORS } from "./openapi.ts";

/** Attempts to create a mesh one client address may make: a burst of 20, then one a minute. Anyone
 *  may create a mesh (a fresh key signs the request), so without this one address could fill the
 *  disk. An attempt counts once its body passed the schema (Elysia checks it before the handler),
 *  before its signature is checked: a malformed body costs nothing, a badly signed one counts. */
export const MESH_CREATE_BURST = 20;
export const MESH_CREATE_RATE_PER_SEC = 1 / 60;

export function meshRoutes(ctx: BrokerContext, rawBody: (req: Request) => string, addressOf: (req: Request) => string | undefined) {
  const creations = new AddressThrottle({
    ratePerSec: MESH_CREATE_RATE_PER_SEC,
    burst: MESH_CREATE_BURST,
    refused: "Too many attempts to create a mesh from this address; wait a minute and try again.",
    trustedProxies: () => ctx.config.trustedProxies,
  });
  // Each claim stores a member, its #general membership and two audit entries for good, and grows
  // every member_list and list_peers of the mesh: unthrottled, one address enrolled ~146 a second
  // through a many-use invite (decisions.md, session 37). Counted as mesh creations are. Behind a
  // proxy not listed in trustedProxies every joiner is one address: the warning says so. The
  // allowance is the one in force (a SIGHUP may change it; the addresses' buckets are kept).
  const every = () => formatDurationMs(ctx.config.claimEvery);
  const refusedClaims = new ThrottledLog(ctx.log, "warn", "invite claims refused: too many from one address", () => ctx.now());
  const claims = new AddressThrottle({
    ratePerSec: 1000 / ctx.config.claimEvery,
    burst: ctx.config.claimBurst,
    refused: () => `Too many invite claims from this address (the broker takes ${ctx.config.claimBurst} at once, then one every ${every()}); wait and claim again.`,
    trustedProxies: () => ctx.config.trustedProxies,
    onRefused: (ip) => refusedClaims.note({ ip, claimBurst: ctx.config.claimBurst, claimEvery: every(), ...proxyHint(ip) }),
  });
  ctx.settings.follow(["claimBurst", "claimEvery"], (c) => claims.retune(1000 / c.claimEvery, c.claimBurst));
  /** Enrols `body`'s key with the invite (protocol.md §6.4, after the claim allowance). */
  const claim = async (inviteId: string, body: ClaimInviteBodyT) => {
    const now = ctx.now();
    checkSkew(body.timestamp, now, "Invite claim");
    const invite = await ctx.store.getInvite(inviteId);
    if (!invite || invite.meshId !== body.meshId) throw new MeshError("invite_not_found");
    const canonical = inviteClaimCanonical(invite.id, body.pubkey, body.timestamp);
    if (!verifyDetached(body.inviteSignature, canonical, invite.invitePubkey)) throw new MeshError("bad_invite", "The claim is not signed by the invite's key: the link is wrong or altered. Copy it again whole, or ask for a new invite.");
    if (!verifyDetached(body.signature, canonical, body.pubkey)) throw new MeshError("bad_signature", "The claim is not signed by the key being enrolled.");
    await consumeSignature(ctx.store, body.signature, body.timestamp, "invite claim");
    const { member, keysBlob, repeated } = await ctx.store.claimInvite({ inviteId: invite.id, nowMs: now, member: { id: randomId(), pubkey: body.pubkey, displayName: body.displayName }, claim: { timestamp: body.timestamp, inviteSignature: body.inviteSignature } });
    if (!repeated) {
      ctx.log.info("invite claimed", { meshId: invite.meshId, inviteId: invite.id, memberId: member.id, pubkey: member.pubkey });
      ctx.roster.putMember(invite.meshId, member);
      ctx.hub.emit(invite.meshId, "member_joined", { memberId: member.id, pubkey: member.pubkey, displayName: member.displayName, role: member.role, inviteId: invite.id });
    }
    const mesh = await ctx.store.getMesh(invite.meshId);
    const members = (await ctx.store.listActiveMembers(invite.meshId)).map(memberInfo);
    return { repeated, answer: { mesh, member: memberInfo(member), keysBlob, members } };
  };
  return new Elysia({ name: "meshes" })
    .post(
      "/v1/meshes",
      async ({ body, request, set }) => {
        // A retry of a creation that happened (its answer was lost) is answered as before, whatever
        // the allowance: refusing it could make the client give up the key of a mesh it owns. Only
        // a validly signed one: a mesh's id and owner key are public, so a request that names them
        // and fails its signature counts as an attempt like any other.
        const existing = await ctx.store.getMesh(body.meshId);
        const retry = existing?.ownerPubkey === body.ownerPubkey;
        const attempt = () => creations.take(addressOf(request), request.headers.get("x-forwarded-for"));
        if (!retry) attempt();
        // Both refusals come before the signature is recorded against replay: a refused request writes nothing.
        try {
          await verifySignedRequest(ctx.store, { method: "POST", path: "/v1/meshes", headers: request.headers, body: rawBody(request) }, ctx.now(), async (signer) => {
            if (signer !== body.ownerPubkey) throw new MeshError("unauthorized", "The request must be signed by the owner key it names.");
            // Reserved so no mesh id can make a canonical string read like one of our labelled ones.
            if (body.meshId.startsWith("claudemesh")) throw new MeshError("invalid_argument", "Mesh ids may not start with \"claudemesh\".");
          });
        } catch (err) {
          if (retry) attempt();
          throw err;
        }
        const { mesh, owner, repeated } = await ctx.store.createMesh({
          mesh: { id: body.meshId, slug: body.slug, name: body.name, ownerPubkey: body.ownerPubkey, createdAt: ctx.now() },
          owner: { id: randomId(), pubkey: body.ownerPubkey, displayName: body.ownerDisplayName },
        });
        set.status = repeated ? 200 : 201;
        if (!repeated) ctx.log.info("mesh created", { meshId: mesh.id, slug: mesh.slug, ownerPubkey: mesh.ownerPubkey, ip: requestIp(addressOf(request), request, ctx.config.trustedProxies) });
        return { mesh, member: memberInfo(owner) };
      },
      { body: CreateMeshBody, detail: { summary: "Create a mesh", description: "Signed by the new owner's key. The broker learns only public keys; #general is created with the owner as lead.", tags: ["meshes"], ...describe({ auth: "signed", ok: { 201: "Created: the mesh and its owner member.", 200: "A repeat of a creation that happened (same id, slug and owner), answered as before." }, errors: [...BODY_ERRORS, ...SIGNED_ERRORS, "invalid_name", "conflict", "rate_limited", "unavailable"] }) } },
    )
    .post(
      "/v1/invites/:inviteId/claim",
      async ({ body, params, set, request }) => {
        // A malformed id first: it is bad input whatever the body says, and names no invite.
        const inviteId = inviteIdParam(params.inviteId);
        // A claim again by a key the mesh has (its answer was lost) is answered as before whatever
        // the allowance, unless it is refused: the client keeps the key it claimed with only until
        // it has that answer. Any other claim counts before its checks, as a mesh creation does.
        const prior = await ctx.store.getMemberByPubkey(body.meshId, body.pubkey);
        const attempt = () => claims.take(addressOf(request), request.headers.get("x-forwarded-for"));
        const retry = prior !== null && prior.revokedAt === null;
        if (!retry) attempt();
        try {
          const { repeated, answer } = await claim(inviteId, body);
          set.status = repeated ? 200 : 201;
          return answer;
        } catch (err) {
          if (retry) attempt();
          throw err;
        }
      },
      { body: ClaimInviteBody, detail: { summary: "Claim an invite", description: "Enrolls a new member key. Signed by the invite key (held only by link holders) and by the new key.", tags: ["meshes"], ...describe({ auth: "none", ok: { 201: "Enrolled: the mesh, the member, the sealed mesh keys and the members.", 200: "The same key's claim again (its answer was lost), answered as before." }, errors: [...BODY_ERRORS, "invalid_name", "timestamp_skew", "bad_invite", "bad_signature", "replayed", "invite_not_found", "invite_revoked", "invite_expired", "invite_exhausted", "conflict", "rate_limited", "unavailable"] }) } },
    );
}
