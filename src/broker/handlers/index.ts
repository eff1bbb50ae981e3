// Request type → handler, and the one way in for every request, whatever carried it: the
// WebSocket session and the dashboard's HTTP routes run requests through runRequest (the session
// calls send's and ack's handlers itself, for ordering and batching, after admitRequest), and the
// status hook goes through admitRequest: no transport skips a check.
import { MeshError } from "../../protocol/errors.ts";
import type { ClientFrameOf, ClientFrameType, RequestType } from "../../protocol/frames.ts";
import type { Results } from "../../protocol/results.ts";
import { CHANGE_BURST, CHANGE_RATE_PER_SEC, STATUS_BURST, STATUS_RATE_PER_SEC } from "../../protocol/limits.ts";
import type { BrokerContext } from "../context.ts";
import type { Conn, Identity } from "../conn.ts";
import { handleSend } from "../router.ts";
import { handleFetch } from "./messaging.ts";
import { handleAttest, handleListPeers, handleSessionEnd, handleSetStatus, handleSetSummary } from "./presence.ts";
import * as topics from "./topics.ts";
import * as admin from "./admin.ts";
import { handleMemberLookup, handlePeerLookup } from "./lookup.ts";

type Handler<T extends RequestType> = (ctx: BrokerContext, conn: Conn, f: ClientFrameOf<T>) => Promise<Results[T]>;

// Exported so that tests can stand in for a handler.
export const HANDLERS: { [T in RequestType]: Handler<T> } = {
  send: handleSend,
  fetch: handleFetch,
  list_peers: handleListPeers,
  peer_lookup: handlePeerLookup,
  set_status: handleSetStatus,
  set_summary: handleSetSummary,
  attest: handleAttest,
  session_end: handleSessionEnd,
  topic_create: topics.handleTopicCreate,
  topic_list: topics.handleTopicList,
  topic_join: topics.handleTopicJoin,
  topic_leave: topics.handleTopicLeave,
  topic_members: topics.handleTopicMembers,
  topic_history: topics.handleTopicHistory,
  group_join: topics.handleGroupJoin,
  group_leave: topics.handleGroupLeave,
  grant_set: admin.handleGrantSet,
  grant_list: admin.handleGrantList,
  member_list: admin.handleMemberList,
  member_lookup: handleMemberLookup,
  member_revoke: admin.handleMemberRevoke,
  leave: admin.handleLeave,
  invite_create: admin.handleInviteCreate,
  invite_list: admin.handleInviteList,
  invite_revoke: admin.handleInviteRevoke,
  key_rotate: admin.handleKeyRotate,
  audit_log: admin.handleAuditLog,
  audit_verify: admin.handleAuditVerify,
};

/** The requests that write an audit entry (protocol.md §8.1, CHANGE_RATE_PER_SEC). */
const AUDITED: ReadonlySet<ClientFrameType> = new Set(["grant_set", "topic_create", "invite_create", "invite_revoke", "member_revoke", "key_rotate"]);

/** The requests that change nothing and hand out nothing (fetch claims what it returns): an answer
 *  of one may be withheld and the request made again (ws/session.ts, for its address's cap). */
const READS: ReadonlySet<ClientFrameType> = new Set(["list_peers", "peer_lookup", "topic_list", "topic_members", "topic_history", "grant_list", "member_list", "member_lookup", "invite_list", "audit_log", "audit_verify"]);
export const isRead = (type: ClientFrameType): boolean => READS.has(type);

/** The requests that change a presence's status or summary (STATUS_RATE_PER_SEC); the status hook
 *  is admitted as `set_status`. */
const STATUS_CHANGES: ReadonlySet<ClientFrameType> = new Set(["set_status", "set_summary"]);

/** Throws unless the broker may act on a request of this type for this member now: not while it
 *  drains (`unavailable`; an `ack` aside, below), not for a member whose removal is under way
 *  (`revoked`: the removal has not committed, so checks against the store still pass), a request
 *  that appends to the audit log only within the member's change allowance (`rate_limited`: the
 *  log only grows, and every verification re-hashes all of it), and a status or summary change
 *  only within its status allowance (`rate_limited`: each is a write and an event to every
 *  connection of the mesh). One allowance of each per member, whatever transport. */
export function admitRequest(ctx: BrokerContext, who: Pick<Identity, "meshId" | "memberId">, type: ClientFrameType): void {
  // An ack only deletes, and the drain commits it before the store closes (server.ts stop): taken,
  // what it names is not pushed again after the restart. Nothing new is pushed meanwhile (pump).
  if (ctx.draining && type !== "ack") throw new MeshError("unavailable", "The broker is shutting down.");
  // Removed (left, kicked, banned), and the connection not closed yet: it acts for nobody.
  if (ctx.hub.isRemoved(who.meshId, who.memberId)) throw new MeshError("revoked");
  if (AUDITED.has(type) && !ctx.changeLimiter.take(who.memberId)) {
    ctx.sendRefusals.note({ meshId: who.meshId, memberId: who.memberId, reason: "rate_limited", limit: "change" }, "request refused");
    throw new MeshError("rate_limited", `This member is making changes faster than ${CHANGE_RATE_PER_SEC} a second (after a burst of ${CHANGE_BURST}). Back off and retry.`, { retryAfterMs: ctx.changeLimiter.waitMs(who.memberId), limit: "change" });
  }
  if (STATUS_CHANGES.has(type) && !ctx.statusLimiter.take(who.memberId)) {
    ctx.sendRefusals.note({ meshId: who.meshId, memberId: who.memberId, reason: "rate_limited", limit: "status" }, "request refused");
    throw new MeshError("rate_limited", `This member is changing its status or summary faster than ${STATUS_RATE_PER_SEC} a second (after a burst of ${STATUS_BURST}). Back off and retry.`, { retryAfterMs: ctx.statusLimiter.waitMs(who.memberId), limit: "status" });
  }
}

/** Runs one request as `conn`'s identity after admitRequest. Throws what it or the handler throws. */
export async function runRequest<T extends RequestType>(ctx: BrokerContext, conn: Conn, f: ClientFrameOf<T> & { type: T }): Promise<Results[T]> {
  admitRequest(ctx, conn.identity!, f.type);
  return (HANDLERS[f.type] as Handler<T>)(ctx, conn, f);
}
