// The `data` of each request's `result` frame. These are the broker's promises to clients;
// docs/protocol.md shows one example of each.
import type { Cap, Priority, Role, Status } from "./fields.ts";
import type { AttestationFields } from "./frames.ts";
import type { MessagePushFrame } from "./server-frames.ts";
import type { ChainEntry, ChainVerdict } from "./audit-chain.ts";

export type PeerInfo = {
  /** The key messages to this peer are addressed to (session key, or member key). */
  pubkey: string;
  kind: "member" | "session";
  memberId: string;
  memberPubkey: string;
  displayName: string;
  online: boolean;
  status: Status;
  summary: string;
  cwd: string;
  hostname: string;
  /** ms since the epoch; null while offline. */
  connectedAt: number | null;
  /** ms since the epoch of the last connection or disconnection; null if never seen. */
  lastSeenAt: number | null;
  groups: string[];
  /** A session's attestation by its member key (the newest it presented); null for members and
   *  for sessions last seen before the broker kept it. Check it before encrypting to the key. */
  attestation: AttestationFields | null;
};

export type MemberInfo = {
  memberId: string;
  pubkey: string;
  displayName: string;
  role: Role;
  joinedAt: number;
  revokedAt: number | null;
  /** Free text typed by whoever removed it ("left" on a leave): a reason, not who acted. */
  revokedReason: string | null;
  /** Who ended the membership: the member id of the owner or admin who removed it, or the
   *  member's own id when it left by itself; null while a member (or, for a removal made before
   *  the broker kept it and missing from the audit chain, unknown: treat it as removed). */
  revokedBy: string | null;
  banned: boolean;
};

/** Whether a former member left by itself (rather than being removed or banned): decided by who
 *  acted, never by the reason text, which a remover may set to "left". */
export const leftBySelf = (m: Pick<MemberInfo, "memberId" | "revokedAt" | "revokedBy" | "banned">): boolean => m.revokedAt !== null && !m.banned && m.revokedBy === m.memberId;

/** A member as `member_list` gives it: with its admission evidence (null for the owner, and for
 *  members enrolled before the broker kept it). */
export type ListedMember = MemberInfo & { admission: AdmissionInfo | null };

/** The evidence of a member's enrolment (§11.5): signed by the issuer and by the invite key, so
 *  that the mesh owner's client can check it without trusting the broker. */
export type AdmissionInfo = {
  inviteId: string;
  role: "admin" | "member";
  /** The invite's use limit, signed into keySignature by clients since §3.4b v2. */
  maxUses: number;
  expiresAt: number;
  issuerPubkey: string;
  inviteSignature: string;
  invitePubkey: string;
  keySignature: string | null;
  claimedAt: number;
  claimSignature: string;
};

/** How many members the broker enrolled through an invite, removed ones included: the rows
 *  `member_list` would show with that invite's admission (§4.3.29). */
export type InviteClaims = { inviteId: string; claimed: number };

export type TopicInfo = { name: string; description: string; createdAt: number; members: number; lastOffset: number; joined: boolean };
export type TopicMemberInfo = { memberId: string; displayName: string; pubkey: string; role: "lead" | "member" };
export type InviteInfo = {
  inviteId: string;
  role: "admin" | "member";
  maxUses: number;
  usedCount: number;
  expiresAt: number;
  createdAt: number;
  createdBy: string;
  revokedAt: number | null;
};
/** Whether an invite can still be claimed, and if not why (the first that applies, in this order).
 *  Used up before expired: an invite every use of which was claimed stays "used up" after its
 *  expiry, so whoever audits the links still sees that all of them were used. */
export type InviteState = "revoked" | "used up" | "expired" | "active";
export function inviteState(i: Pick<InviteInfo, "revokedAt" | "expiresAt" | "usedCount" | "maxUses">, nowS = Date.now() / 1000): InviteState {
  if (i.revokedAt) return "revoked";
  if (i.usedCount >= i.maxUses) return "used up";
  if (i.expiresAt <= nowS) return "expired";
  return "active";
}
export type GrantInfo = { peer: string; caps: Cap[] };
/** Audit entries and the verdict are the chain's own types (audit-chain.ts). */
export type AuditEntry = ChainEntry;
export type AuditVerify = ChainVerdict;

/** A recipient mailbox a send skipped, and why (§5.11). */
export type Undeliverable = { to: string; code: string };

export type Results = {
  send: { messageId: string; duplicate: boolean; createdAt: number; topicOffset?: number; undeliverable: readonly Undeliverable[] };
  ack: { acked: number };
  fetch: { messages: MessagePushFrame[]; remaining: number };
  list_peers: { peers: PeerInfo[] };
  /** `complete` false: more peers matched than MAX_LOOKUP_PEERS (those listed are some of them).
   *  `nameRule`: the version of the name comparison applied (NAME_RULE, §4.2.1). */
  peer_lookup: { peers: PeerInfo[]; complete: boolean; nameRule: number };
  set_status: { status: Status; released: number };
  set_summary: { summary: string };
  attest: { expiresAt: number };
  session_end: { ended: true };
  topic_create: { topic: TopicInfo };
  topic_list: { topics: TopicInfo[] };
  topic_join: { topic: string; joined: boolean };
  topic_leave: { topic: string; left: boolean };
  topic_members: { topic: string; members: TopicMemberInfo[] };
  topic_history:
    | { topic: string; messages: MessagePushFrame[]; lastOffset: number; earliestOffset: number; historyLost: false }
    | { topic: string; messages: []; lastOffset: number; earliestOffset: number; historyLost: true };
  group_join: { group: string };
  group_leave: { group: string };
  grant_set: { peer: string; caps: Cap[] | null };
  grant_list: { grants: GrantInfo[]; defaults: Cap[] };
  member_list: { members: ListedMember[] };
  member_lookup: { members: ListedMember[]; claims: InviteClaims[] };
  member_revoke: { memberId: string; banned: boolean; disconnected: number; invitesRevoked: string[] };
  leave: { left: true };
  invite_create: { invite: InviteInfo };
  /** `next`: null when the list ends with this page, else the `afterInviteId` of the page after
   *  it (which may be short, even empty, under `open`: §4.3.23). */
  invite_list: { invites: InviteInfo[]; next: string | null };
  invite_revoke: { inviteId: string; revoked: boolean };
  key_rotate: { epoch: number };
  audit_log: { entries: AuditEntry[] };
  audit_verify: AuditVerify;
};

export type { Priority };
