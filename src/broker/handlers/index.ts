// Request type → handler. One entry per request frame in protocol/frames.ts (send and ack have
// their own paths in ws/session.ts because of ordering and batching).
import type { ClientFrameOf, RequestType } from "../../protocol/frames.ts";
import type { Results } from "../../protocol/results.ts";
import type { BrokerContext } from "../context.ts";
import type { Conn } from "../conn.ts";
import { handleFetch } from "./messaging.ts";
import { handleAttest, handleListPeers, handleSessionEnd, handleSetStatus, handleSetSummary } from "./presence.ts";
import * as topics from "./topics.ts";
import * as admin from "./admin.ts";

type Handler<T extends RequestType> = (ctx: BrokerContext, conn: Conn, f: ClientFrameOf<T>) => Promise<Results[T]>;

export const HANDLERS: { [T in Exclude<RequestType, "send">]: Handler<T> } = {
  fetch: handleFetch,
  list_peers: handleListPeers,
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
  member_revoke: admin.handleMemberRevoke,
  leave: admin.handleLeave,
  invite_create: admin.handleInviteCreate,
  invite_list: admin.handleInviteList,
  invite_revoke: admin.handleInviteRevoke,
  key_rotate: admin.handleKeyRotate,
  audit_log: admin.handleAuditLog,
  audit_verify: admin.handleAuditVerify,
};
