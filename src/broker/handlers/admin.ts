// Membership administration: members, removal, invites, key epochs, audit, grants.
import { MeshError } from "../../protocol/errors.ts";
import type { ClientFrameOf } from "../../protocol/frames.ts";
import type { InviteInfo, MemberInfo, Results } from "../../protocol/results.ts";
import { inviteCanonical, inviteKeyCanonical, inviteKeyCanonicalV1 } from "../../protocol/canonical.ts";
import { CloseCode } from "../../protocol/close-codes.ts";
import { verifyDetached } from "../../crypto/sign.ts";
import type { ListedInvite, Member } from "../../store/types.ts";
import { MAX_PAGE } from "../../protocol/limits.ts";
import type { BrokerContext } from "../context.ts";
import type { Conn, Identity } from "../conn.ts";
import { DEFAULT_CAPS } from "../grants.ts";

/** Longest an invite may stay valid. */
const MAX_INVITE_LIFETIME_S = 365 * 86_400;

/** Whether a member (or a connection's identity) may administer its mesh. */
export const isAdmin = (who: Pick<Identity, "role">): boolean => who.role === "owner" || who.role === "admin";

/** Throws forbidden unless the caller is the mesh owner or an admin, on its member key. The one
 *  admin check: the dashboard runs these same handlers, so it needs no check of its own. */
function requireAdmin(id: Identity): void {
  requireMemberKey(id);
  if (!isAdmin(id)) throw new MeshError("forbidden", "Only the mesh owner or an admin can do this.");
}

/** Throws forbidden for a session key. What cannot be undone or changes who may reach whom
 *  (removals, leaving, invites, key epochs, grants) takes the member key itself: a session key
 *  lives in a Claude Code session's files and a leaked one is valid for up to 24 h. */
function requireMemberKey(id: Identity): void {
  if (id.kind !== "member") throw new MeshError("forbidden", "A session key cannot do this; use the member key (the claudemesh CLI).");
}

export const memberInfo = (m: Member): MemberInfo => ({
  memberId: m.id,
  pubkey: m.pubkey,
  displayName: m.displayName,
  role: m.role,
  joinedAt: m.joinedAt,
  revokedAt: m.revokedAt,
  revokedReason: m.revokedReason,
  revokedBy: m.revokedBy,
  banned: m.banned,
});

export const inviteInfo = (i: ListedInvite): InviteInfo => ({
  inviteId: i.id,
  role: i.role,
  maxUses: i.maxUses,
  usedCount: i.usedCount,
  expiresAt: i.expiresAt,
  createdAt: i.createdAt,
  createdBy: i.issuerMemberId,
  revokedAt: i.revokedAt,
});

export async function handleMemberList(ctx: BrokerContext, conn: Conn): Promise<Results["member_list"]> {
  const meshId = conn.identity!.meshId;
  const [members, admissions] = await Promise.all([ctx.store.listMembers(meshId), ctx.store.listAdmissions(meshId)]);
  return { members: members.map((m) => ({ ...memberInfo(m), admission: admissions.get(m.id) ?? null })) };
}

/** Stores a member's removal, ordered after everything they sent before it: the member counts as
 *  removed from the start (a frame of theirs handled from then on is refused: session.ts,
 *  router.ts), their sends already accepted commit first (the group commit is drained), then the
 *  removal. Nothing they send is committed or routed after it, even while its flush runs. A write
 *  that fails takes the mark back. Once stored, the member leaves the roster at once: before the
 *  answer (a list_peers handled after a `leave`'s answer, which closes the connections a moment
 *  later, listed them) and before their presences go away (each reads its row into the roster,
 *  and found it changed under the read: the whole mesh was loaded again). */
async function removeMember(ctx: BrokerContext, meshId: string, memberId: string, how: { actor: string; ban: boolean; reason: string | null; self: boolean }): Promise<string[]> {
  // A removal under way (its drain or write still pending) wins over a second one: two admins'
  // kicks, or a kick racing the member's leave. (Unmarking for the loser would also have undone
  // the winner's mark.)
  if (ctx.hub.isRemoved(meshId, memberId)) throw new MeshError("conflict", "That member was already removed.");
  ctx.hub.markRemoved(meshId, memberId, ctx.now());
  try {
    await ctx.writes.drain();
    const { invitesRevoked } = await ctx.store.revokeMember(meshId, memberId, how);
    ctx.roster.dropMember(meshId, memberId);
    return invitesRevoked;
  } catch (err) {
    ctx.hub.unmarkRemoved(meshId, memberId);
    throw err;
  }
}

/** Closes every connection of a member removeMember removed and tells the rest of the mesh who
 *  removed whom (`by`: the member itself when it left), so that the owner learns live of a removal
 *  an admin made. */
function evict(ctx: BrokerContext, meshId: string, memberId: string, code: number, reason: string, by: string): number {
  let closed = 0;
  for (const p of ctx.hub.ofMember(meshId, memberId)) {
    for (const c of p.conns) {
      c.close(code, reason);
      closed++;
    }
    ctx.hub.remove(p);
  }
  ctx.hub.emit(meshId, "member_revoked", { memberId, reason, by });
  ctx.log.info("member removed", { meshId, memberId, by, how: reason, connectionsClosed: closed });
  return closed;
}

export async function handleMemberRevoke(ctx: BrokerContext, conn: Conn, f: ClientFrameOf<"member_revoke">): Promise<Results["member_revoke"]> {
  const id = conn.identity!;
  requireAdmin(id);
  const target = await ctx.store.getMember(id.meshId, f.memberId);
  if (!target) throw new MeshError("not_found", "No such member in this mesh.");
  if (target.role === "owner") throw new MeshError("forbidden", "The mesh owner cannot be removed.");
  if (target.role === "admin" && id.role !== "owner") throw new MeshError("forbidden", "Only the owner can remove an admin.");
  if (target.revokedAt !== null) throw new MeshError("conflict", "That member was already removed.");
  const invitesRevoked = await removeMember(ctx, id.meshId, target.id, { actor: id.memberId, ban: f.ban, reason: f.reason ?? null, self: false });
  const disconnected = evict(ctx, id.meshId, target.id, f.ban ? CloseCode.banned : CloseCode.kicked, f.ban ? "banned" : "kicked", id.memberId);
  return { memberId: target.id, banned: f.ban, disconnected, invitesRevoked };
}

export async function handleLeave(ctx: BrokerContext, conn: Conn): Promise<Results["leave"]> {
  const id = conn.identity!;
  requireMemberKey(id);
  if (id.role === "owner") throw new MeshError("forbidden", "The owner cannot leave their own mesh.");
  await removeMember(ctx, id.meshId, id.memberId, { actor: id.memberId, ban: false, reason: "left", self: true });
  // The open connections close after this result is sent; frames after it are refused meanwhile.
  setTimeout(() => evict(ctx, id.meshId, id.memberId, CloseCode.left, "left", id.memberId), 0);
  return { left: true };
}

export async function handleInviteCreate(ctx: BrokerContext, conn: Conn, f: ClientFrameOf<"invite_create">): Promise<Results["invite_create"]> {
  const id = conn.identity!;
  requireAdmin(id);
  if (f.role === "admin" && id.role !== "owner") throw new MeshError("forbidden", "Only the owner can invite admins.");
  const nowS = Math.floor(ctx.now() / 1000);
  if (f.expiresAt <= nowS) throw new MeshError("invalid_argument", "expiresAt must be in the future (seconds since the epoch).");
  if (f.expiresAt > nowS + MAX_INVITE_LIFETIME_S) throw new MeshError("invalid_argument", "An invite may be valid for at most 365 days.");
  const canonical = inviteCanonical(id.meshId, f.inviteId, f.expiresAt, f.role, id.memberPubkey);
  if (!verifyDetached(f.signature, canonical, id.memberPubkey)) throw new MeshError("bad_invite", "The invite signature does not verify with your member key.");
  // Without the §3.4b binding nobody who joins through the invite can be vouched for by the owner's
  // client (§11.5): no one could send them a direct message or a key. Only a CLI from before the
  // binding (which did not know to send it) omits it; the field stays optional in the schema so
  // that it hears why and what to do, not a bare schema error.
  if (f.keySignature === undefined) throw new MeshError("unsupported_version", INVITE_WITHOUT_KEY_SIGNATURE);
  if (!inviteKeySigned(f.keySignature, id.meshId, f, id.memberPubkey)) {
    throw new MeshError("bad_invite", "The invite key signature does not verify with your member key (over the invite key and maxUses).");
  }
  const invite = await ctx.store.createInvite(
    {
      id: f.inviteId,
      meshId: id.meshId,
      role: f.role,
      maxUses: f.maxUses,
      expiresAt: f.expiresAt,
      issuerMemberId: id.memberId,
      issuerPubkey: id.memberPubkey,
      invitePubkey: f.invitePubkey,
      signature: f.signature,
      keySignature: f.keySignature ?? null,
      keysBlob: f.keysBlob ?? null,
      createdAt: ctx.now(),
    },
    id.memberId,
  );
  return { invite: inviteInfo(invite) };
}

/** The refusal of an invite_create without keySignature (§4.3.22): an older CLI's. */
export const INVITE_WITHOUT_KEY_SIGNATURE =
  "This invite carries no keySignature (the issuer's signature binding the invite key, protocol §3.4b), so the mesh owner could never vouch for anyone who joins with it: no one could send them direct messages or keys. It comes from a claudemesh older than this broker; nothing was stored. Upgrade claudemesh on this machine (`claudemesh version --json` shows the version) and run `claudemesh invite` again.";

/** §3.4b: the binding with the use limit, or the one clients made before the limit was signed. */
function inviteKeySigned(signature: string, meshId: string, f: ClientFrameOf<"invite_create">, issuerPubkey: string): boolean {
  return (
    verifyDetached(signature, inviteKeyCanonical(meshId, f.inviteId, f.invitePubkey, f.maxUses), issuerPubkey) ||
    verifyDetached(signature, inviteKeyCanonicalV1(meshId, f.inviteId, f.invitePubkey), issuerPubkey)
  );
}

/** Invites a page holds when the request names no `limit` (as audit_log's entries). */
const DEFAULT_INVITE_PAGE = 100;

/** A page of the mesh's invites (§4.3.23). A request without any field is a client's from before
 *  pages, which reads `invites` as the whole list: it gets the whole list while that fits one page
 *  (MAX_PAGE), and unsupported_version beyond, never a part it would take for the whole. */
export async function handleInviteList(ctx: BrokerContext, conn: Conn, f: ClientFrameOf<"invite_list">): Promise<Results["invite_list"]> {
  const id = conn.identity!;
  requireAdmin(id);
  const plain = f.afterInviteId === undefined && f.limit === undefined && f.open === undefined && f.inviteId === undefined;
  const page = await ctx.store.listInvites(id.meshId, {
    afterInviteId: f.afterInviteId ?? null,
    inviteId: f.inviteId ?? null,
    limit: plain ? MAX_PAGE : (f.limit ?? DEFAULT_INVITE_PAGE),
    openAt: f.open ? Math.floor(ctx.now() / 1000) : null,
  });
  if (plain && page.next !== null) throw new MeshError("unsupported_version", INVITE_LIST_WITHOUT_PAGES);
  return { invites: page.invites.map(inviteInfo), next: page.next };
}

/** The refusal of a plain invite_list in a mesh of more invites than a page (§4.3.23). */
export const INVITE_LIST_WITHOUT_PAGES =
  `This mesh has more than ${MAX_PAGE} invites, more than one answer lists, and this request asks for all of them at once, as claudemesh did before invite lists came in pages (protocol §4.3.23): nothing was listed. Upgrade claudemesh on this machine (\`claudemesh version --json\` shows the version) and run the command again.`;

export async function handleInviteRevoke(ctx: BrokerContext, conn: Conn, f: ClientFrameOf<"invite_revoke">): Promise<Results["invite_revoke"]> {
  requireAdmin(conn.identity!);
  const invite = await ctx.store.revokeInvite(conn.identity!.meshId, f.inviteId, conn.identity!.memberId);
  return { inviteId: invite.id, revoked: true };
}

/** Records that the owner distributed a new key epoch (the keys themselves travel end-to-end).
 *  The owner's alone, as members accept mesh keys only from the owner (§11): an admin could
 *  otherwise push the epoch to its limit, which no key would ever reach, and lock every member
 *  out of fan-out messages and the owner out of rotating. */
export async function handleKeyRotate(ctx: BrokerContext, conn: Conn, f: ClientFrameOf<"key_rotate">): Promise<Results["key_rotate"]> {
  const id = conn.identity!;
  requireMemberKey(id);
  if (id.role !== "owner") throw new MeshError("forbidden", "Only the mesh owner can rotate the mesh key.");
  const mesh = await ctx.store.getMesh(id.meshId);
  if (!mesh) throw new MeshError("not_found");
  if (f.epoch <= mesh.keyEpoch) throw new MeshError("conflict", `Key epoch must increase (current ${mesh.keyEpoch}).`);
  await ctx.store.setKeyEpoch(id.meshId, f.epoch, id.memberId, f.reason ?? null);
  ctx.hub.emit(id.meshId, "key_rotated", { epoch: f.epoch, by: id.memberId });
  ctx.log.info("mesh key rotated", { meshId: id.meshId, epoch: f.epoch, by: id.memberId });
  return { epoch: f.epoch };
}

export async function handleAuditLog(ctx: BrokerContext, conn: Conn, f: ClientFrameOf<"audit_log">): Promise<Results["audit_log"]> {
  return { entries: await ctx.store.listAudit(conn.identity!.meshId, f.afterSeq ?? 0, f.limit ?? 100) };
}

export async function handleAuditVerify(ctx: BrokerContext, conn: Conn): Promise<Results["audit_verify"]> {
  return ctx.audit.verify(conn.identity!.meshId);
}

export async function handleGrantSet(ctx: BrokerContext, conn: Conn, f: ClientFrameOf<"grant_set">): Promise<Results["grant_set"]> {
  const id = conn.identity!;
  requireMemberKey(id);
  // An entry for a key nobody in the mesh holds would do nothing (deleting one stays possible).
  if (f.caps !== null && !(await ctx.store.getMemberByPubkey(id.meshId, f.peer)) && !(await ctx.store.getSession(id.meshId, f.peer))) {
    throw new MeshError("unknown_recipient", "No member or session of this mesh has that key.");
  }
  await ctx.store.setGrant(id.meshId, id.memberId, f.peer, f.caps, id.memberId);
  ctx.roster.invalidate(id.meshId);
  return { peer: f.peer, caps: f.caps };
}

export async function handleGrantList(ctx: BrokerContext, conn: Conn): Promise<Results["grant_list"]> {
  const grants = await ctx.store.listGrants(conn.identity!.memberId);
  return { grants: grants.map((g) => ({ peer: g.senderPubkey, caps: g.caps })), defaults: [...DEFAULT_CAPS] };
}
