// The rows `list_peers` and `peer_lookup` show (docs/protocol.md §4.3.6): one per active member and
// per live session of the roster, live presence (name, status, whereabouts) over what is stored.
import type { PeerInfo } from "../protocol/results.ts";
import type { Member, Session } from "../store/types.ts";
import type { BrokerContext } from "./context.ts";
import type { Roster } from "./roster.ts";

/** A roster row as a peer: a member, or a live session with its member. */
export type PeerRow = { kind: "member"; row: Member } | { kind: "session"; row: Session; member: Member };

/** Every peer of the roster, members first, in the roster's order. */
export function* peerRows(r: Roster): Generator<PeerRow> {
  for (const row of r.members.values()) yield { kind: "member", row };
  for (const row of r.sessions.values()) yield { kind: "session", row, member: r.members.get(row.memberId)! };
}

/** The name the peer goes by now: its live connection's (a hello may carry a new one), else stored. */
export const shownName = (ctx: BrokerContext, meshId: string, p: PeerRow): string => ctx.hub.get(meshId, p.row.pubkey)?.identity.displayName ?? p.row.displayName;

/** The row shown for `p`, `groups` being its member's. */
export function peerInfo(ctx: BrokerContext, meshId: string, p: PeerRow, groups: string[]): PeerInfo {
  const live = ctx.hub.get(meshId, p.row.pubkey);
  const owner = p.kind === "member" ? p.row : p.member;
  const online = live !== undefined && live.conns.size > 0;
  // An offline member shows no whereabouts; an offline session those of its last hello.
  const stored = p.kind === "session" ? p.row : { cwd: "", hostname: "" };
  return {
    pubkey: p.row.pubkey,
    kind: p.kind,
    memberId: owner.id,
    memberPubkey: owner.pubkey,
    displayName: live?.identity.displayName ?? p.row.displayName,
    online,
    status: live?.status ?? p.row.status ?? "idle",
    summary: live?.summary ?? p.row.summary ?? "",
    cwd: live?.where.cwd ?? stored.cwd,
    hostname: live?.where.hostname ?? stored.hostname,
    connectedAt: online ? live!.connectedAt : null,
    lastSeenAt: online ? Date.now() : (live?.leftAt ?? p.row.lastSeenAt ?? null),
    groups,
    attestation: p.kind === "member" ? null : (live?.identity.attestation ?? p.row.attestation),
  };
}
