// One schema per client→broker frame, keyed by its literal `type`. The union type and the
// validator table are derived from this registry, so adding a frame is one entry here.
// Requests carry `id`; the broker's `result` or `error` frame echoes it.
import { Type, type Static, type TObject } from "@sinclair/typebox";
import * as F from "./fields.ts";
import * as L from "./limits.ts";

const frame = <T extends string, P extends Record<string, any>>(type: T, props: P) =>
  Type.Object({ type: Type.Literal(type), ...props }, { additionalProperties: false });
const request = <T extends string, P extends Record<string, any>>(type: T, props: P) => frame(type, { id: F.RequestId, ...props });

export const Attestation = Type.Object(
  { sessionPubkey: F.Hex32, parentMemberPubkey: F.Hex32, expiresAt: F.TimestampMs, signature: F.Hex64 },
  { additionalProperties: false },
);

/** Where a peer runs; shown to other peers by list_peers. */
const whereabouts = {
  sessionId: Type.String({ minLength: 1, maxLength: 128 }),
  pid: F.Pid,
  cwd: F.Cwd,
  hostname: Type.Optional(F.Hostname),
  displayName: Type.Optional(F.SessionName),
  protocolVersion: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  /** push (default): queued messages are pushed; pull: only `fetch` hands them out (one-shot CLIs). */
  receive: Type.Optional(Type.Union([Type.Literal("push"), Type.Literal("pull")])),
  /** The `event` pushes this connection wants (§4.3.1); absent: all of them, as before the field. */
  events: Type.Optional(F.EventSubscription),
};

export const ClientFrames = {
  hello: frame("hello", {
    meshId: F.Id,
    memberId: F.Id,
    pubkey: Type.String({ maxLength: 256 }),
    ...whereabouts,
    timestamp: F.TimestampMs,
    signature: Type.String({ maxLength: 256 }),
  }),
  session_hello: frame("session_hello", {
    meshId: F.Id,
    parentMemberId: F.Id,
    parentMemberPubkey: Type.String({ maxLength: 256 }),
    sessionPubkey: Type.String({ maxLength: 256 }),
    attestation: Attestation,
    ...whereabouts,
    timestamp: F.TimestampMs,
    signature: Type.String({ maxLength: 256 }),
  }),

  // Messaging.
  send: request("send", {
    to: F.Target,
    clientMessageId: F.Id,
    nonce: F.Nonce,
    ciphertext: F.Ciphertext,
    priority: Type.Optional(F.Priority),
    replyTo: Type.Optional(F.Id),
    ttlMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 365 * 86_400_000 })),
  }),
  ack: frame("ack", { id: Type.Optional(F.RequestId), messageIds: Type.Array(F.Id, { minItems: 1, maxItems: L.MAX_ACK_BATCH }) }),
  fetch: request("fetch", { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: L.MAX_PAGE })) }),

  // Presence.
  list_peers: request("list_peers", {}),
  /** The peers a typed target could name (§4.3.28): what resolving it needs, not the whole list. */
  peer_lookup: request("peer_lookup", { text: Type.String({ minLength: 1, maxLength: L.MAX_LOOKUP_TEXT_LEN }) }),
  set_status: request("set_status", { status: F.Status }),
  set_summary: request("set_summary", { summary: F.Summary }),
  attest: request("attest", { attestation: Attestation }),
  session_end: request("session_end", {}),

  // Topics and groups.
  topic_create: request("topic_create", { name: F.TopicName, description: Type.Optional(F.Description) }),
  topic_list: request("topic_list", {}),
  topic_join: request("topic_join", { topic: F.TopicName }),
  topic_leave: request("topic_leave", { topic: F.TopicName }),
  topic_members: request("topic_members", { topic: F.TopicName }),
  topic_history: request("topic_history", {
    topic: F.TopicName,
    afterOffset: Type.Optional(Type.Integer({ minimum: 0 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: L.MAX_PAGE })),
  }),
  group_join: request("group_join", { group: F.GroupName }),
  group_leave: request("group_leave", { group: F.GroupName }),

  // Grants: capabilities this member gives to a sender (member or session key).
  grant_set: request("grant_set", { peer: F.Hex32, caps: Type.Union([F.Caps, Type.Null()]) }),
  grant_list: request("grant_list", {}),

  // Membership and administration.
  member_list: request("member_list", {}),
  /** The member list's rows that vouching for one member key needs (§4.3.29). */
  member_lookup: request("member_lookup", { pubkey: F.Hex32 }),
  member_revoke: request("member_revoke", { memberId: F.Id, ban: Type.Boolean(), reason: Type.Optional(F.Reason) }),
  leave: request("leave", {}),
  invite_create: request("invite_create", {
    inviteId: F.Id,
    expiresAt: Type.Integer({ minimum: 0, maximum: 8.64e12, description: "seconds since the epoch" }),
    role: F.InviteRole,
    maxUses: Type.Integer({ minimum: 1, maximum: L.MAX_INVITE_USES }),
    invitePubkey: F.Hex32,
    signature: F.Hex64,
    /** The issuer's signature over §3.4b, binding invitePubkey. Required: optional here only so that
     *  an older CLI that omits it is told by the handler to upgrade (unsupported_version), not
     *  given a bare schema error. */
    keySignature: Type.Optional(F.Hex64),
    keysBlob: Type.Optional(F.KeysBlob),
  }),
  /** A page of the mesh's invites (§4.3.23). Without any field, the request of a client from
   *  before pages: the whole list while it fits one page, else refused. */
  invite_list: request("invite_list", {
    afterInviteId: Type.Optional(F.Id),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: L.MAX_PAGE })),
    open: Type.Optional(Type.Boolean()),
    inviteId: Type.Optional(F.Id),
  }),
  invite_revoke: request("invite_revoke", { inviteId: F.Id }),
  key_rotate: request("key_rotate", { epoch: Type.Integer({ minimum: 1, maximum: L.MAX_KEY_EPOCH }), reason: Type.Optional(F.Reason) }),
  audit_log: request("audit_log", {
    afterSeq: Type.Optional(Type.Integer({ minimum: 0 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: L.MAX_PAGE })),
  }),
  audit_verify: request("audit_verify", {}),
} satisfies Record<string, TObject>;

export type ClientFrameType = keyof typeof ClientFrames;
export type ClientFrameOf<T extends ClientFrameType> = Static<(typeof ClientFrames)[T]>;
export type ClientFrame = { [T in ClientFrameType]: ClientFrameOf<T> }[ClientFrameType];
export type HelloFrame = ClientFrameOf<"hello">;
export type SessionHelloFrame = ClientFrameOf<"session_hello">;
export type AttestationFields = Static<typeof Attestation>;
export type RequestType = Exclude<ClientFrameType, "hello" | "session_hello" | "ack">;

/** What a request does to the broker's state, which decides what a client may do with one whose
 *  reply a dropped connection lost (docs/protocol.md §10): a `read` changes nothing, so it is sent
 *  again (a `fetch` too: its claims die with the connection that made them); a `send` is sent again
 *  under its clientMessageId, which the broker de-duplicates (§5.3); a `change` may or may not have
 *  happened, and only its caller can tell whether to repeat it. The type checker keeps the table
 *  complete when a request is added. */
export const REQUEST_EFFECT: Readonly<Record<RequestType, "read" | "send" | "change">> = {
  send: "send",
  fetch: "read",
  list_peers: "read",
  peer_lookup: "read",
  set_status: "change",
  set_summary: "change",
  attest: "change",
  session_end: "change",
  topic_create: "change",
  topic_list: "read",
  topic_join: "change",
  topic_leave: "change",
  topic_members: "read",
  topic_history: "read",
  group_join: "change",
  group_leave: "change",
  grant_set: "change",
  grant_list: "read",
  member_list: "read",
  member_lookup: "read",
  member_revoke: "change",
  leave: "change",
  invite_create: "change",
  invite_list: "read",
  invite_revoke: "change",
  key_rotate: "change",
  audit_log: "read",
  audit_verify: "read",
};
