// What each request does, in the words of someone using claudemesh, not the wire's: an error that
// reaches a person starts with it ("listing invites failed: …"), since nobody typed `invite_list`.
import type { RequestType } from "../protocol/frames.ts";

/** One phrase per request type; the type checker keeps it complete when a request is added. */
export const REQUEST_LABELS: Readonly<Record<RequestType | "ack", string>> = {
  send: "sending the message",
  fetch: "fetching messages",
  ack: "acknowledging messages",
  list_peers: "listing peers",
  peer_lookup: "looking up the peer",
  set_status: "setting your status",
  set_summary: "setting your summary",
  attest: "renewing the session's attestation",
  session_end: "ending the session",
  topic_create: "creating the topic",
  topic_list: "listing topics",
  topic_join: "joining the topic",
  topic_leave: "leaving the topic",
  topic_members: "listing the topic's members",
  topic_history: "reading the topic's history",
  group_join: "joining the group",
  group_leave: "leaving the group",
  grant_set: "changing what a peer may send you",
  grant_list: "listing grants",
  member_list: "listing members",
  member_lookup: "looking up the member",
  member_revoke: "removing the member",
  leave: "leaving the mesh",
  invite_create: "creating the invite",
  invite_list: "listing invites",
  invite_revoke: "revoking the invite",
  key_rotate: "recording the key rotation",
  audit_log: "reading the audit log",
  audit_verify: "verifying the audit log",
};

/** "Listing invites failed: <reason>": the start a person reads, then why. */
export function requestFailed(type: RequestType | "ack", reason: string): string {
  const what = REQUEST_LABELS[type];
  return `${what[0]!.toUpperCase()}${what.slice(1)} failed: ${reason}`;
}
