// Shapes of the /v1/dashboard responses the page reads (see src/broker/http/dashboard-*.ts).
import type { MemberInfo, PeerInfo, InviteInfo } from "../../src/protocol/results.ts";
import type { ChainEntry, ChainVerdict } from "../../src/protocol/audit-chain.ts";
import type { PageKeys } from "../../src/client/dashboard-link.ts";

export type Mesh = { id: string; slug: string; name: string; ownerPubkey: string; keyEpoch: number; createdAt: number };
export type Me = { member: MemberInfo; admin: boolean; mesh: Mesh; sessionExpiresAt: number; version: string };
export type MeshView = { mesh: Mesh; members: (MemberInfo & { status: string; summary: string; lastSeenAt: number | null })[]; peers: PeerInfo[] };
export type TopicView = { topics: { name: string; description: string; createdAt: number; members: number; messages: number; lastActivityAt: number | null }[] };
/** A page of `GET /v1/dashboard/invites` (`next` absent from a broker from before pages). */
export type InvitePage = { invites: InviteInfo[]; next: string | null };
export type GrantsView = { admin: boolean; defaults: string[]; grants: { recipient: string; recipientName: string; peer: string; peerName: string | null; peerKind: "member" | "session" | null; caps: string[]; overriddenBy: string | null }[]; removed: (MemberInfo & { revokedByName: string | null })[] };
export type AuditView = { verification: ChainVerdict; entries: ChainEntry[] };
export type ChartPoint = { t: number; connections: number; messagesPerS: number; queueDepth: number; rejectionsPerS: number };
export type ChartsView = { intervalMs: number; points: ChartPoint[] };
export type OperatorView = {
  version: string;
  uptimeS: number;
  draining: boolean;
  health: { writable: boolean; schemaVersion: number; expectedVersion: number; error: string | null };
  presences: number;
  connections: number;
  queueDepth: number;
  meshes: (Mesh & { activeMembers: number; connections: number })[];
};

/** What every view can read: the signed-in member (null when only the operator is signed in).
 *  A view that changes who is signed in (the operator's sign-in) calls `changed`, and the page
 *  redraws its header and tabs. */
export type PageState = { me: Me | null; keys: PageKeys | null; operator: boolean; changed(): void };
