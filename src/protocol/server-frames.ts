// Broker→client frames. `result` and `error` answer a request and echo its id; `message` and
// `event` are pushes and carry no id. The client validates these at its edge like the broker
// validates client frames.
import { Type, type Static, type TObject } from "@sinclair/typebox";
import * as F from "./fields.ts";
import { MAX_PUBLIC_URL_LEN, MAX_SHOWN_NAME_LEN } from "./limits.ts";

// Unlike client frames, broker frames admit unknown fields: a newer broker may add optional fields
// (docs/protocol.md §1.2) and an older client must still read the frame. Rejecting them made such
// a client drop its hello_ack (never connecting) and its pushes (never acking, so redelivered
// forever). Unknown event names are still rejected: the client ignores the frame.
const frame = <T extends string, P extends Record<string, any>>(type: T, props: P) => Type.Object({ type: Type.Literal(type), ...props });

export const MeshInfo = Type.Object({
  id: F.Id,
  slug: F.Slug,
  name: F.StoredName,
  ownerPubkey: F.Hex32,
  keyEpoch: Type.Integer({ minimum: 0 }),
});

/** The sender as the broker verified it at hello: never taken from the message body. */
export const Sender = Type.Object({
  memberId: F.Id,
  memberPubkey: F.Hex32,
  /** The key the sender authenticated with: its session key, or its member key. */
  pubkey: F.Hex32,
  /** Its display name when it sent: a session named by the broker may have a long one. */
  name: Type.String({ maxLength: MAX_SHOWN_NAME_LEN }),
});

export const MessageKind = Type.Union([Type.Literal("direct"), Type.Literal("broadcast"), Type.Literal("group"), Type.Literal("topic"), Type.Literal("system")]);

/** An inbound message. `nonce` and `ciphertext` are opaque to the broker; for `system` messages
 *  (notices from the broker itself, such as an expired message) they are empty and `notice` is set. */
export const MessagePush = frame("message", {
  messageId: F.Id,
  meshId: F.Id,
  kind: MessageKind,
  from: Sender,
  to: Type.String({ maxLength: 80 }),
  priority: F.Priority,
  clientMessageId: Type.String({ maxLength: 64 }),
  nonce: Type.String({ maxLength: 64 }),
  ciphertext: Type.String(),
  createdAt: F.TimestampMs,
  topic: Type.Optional(F.TopicName),
  topicOffset: Type.Optional(Type.Integer({ minimum: 1 })),
  replyTo: Type.Optional(F.Id),
  notice: Type.Optional(Type.Record(Type.String(), Type.Any())),
});

export const HelloAck = frame("hello_ack", {
  protocolVersion: Type.Integer(),
  presenceId: Type.String(),
  memberId: F.Id,
  role: F.Role,
  displayName: Type.String(),
  mesh: MeshInfo,
  /** Bearer token for POST /hook/set-status while this presence lives. */
  hookToken: Type.String(),
  /** Messages waiting in this identity's queue at hello time. */
  pending: Type.Integer({ minimum: 0 }),
  /** Broker database epoch: changes when the database is restored, so clients resync. */
  epoch: Type.String(),
  serverTime: F.TimestampMs,
  reattached: Type.Boolean(),
  limits: Type.Object({ maxFrameBytes: Type.Integer(), sendRatePerSec: Type.Number(), sendBurst: Type.Integer() }),
  /** How often the broker pings each connection (§2.8), so a client can watch for silence at the
   *  same pace. Optional: older brokers do not send it. */
  pingIntervalMs: Type.Optional(Type.Integer({ minimum: 1 })),
  /** A session's hello only: how many messages of its member's mailbox that no session had been
   *  given were copied into this session's mailbox at this hello (§5.1), counted in `pending`.
   *  Optional: older brokers do not send it. */
  fromMemberMailbox: Type.Optional(Type.Integer({ minimum: 0 })),
  /** The broker's configured `publicUrl` (without a trailing slash), when it has one: the URL its
   *  operator says clients use, which a client reaching it by another one may move to. Optional:
   *  older brokers, and brokers without one, do not send it. */
  publicUrl: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_PUBLIC_URL_LEN })),
});

export const ErrorFrame = frame("error", {
  id: Type.Optional(F.RequestId),
  code: Type.String(),
  message: Type.String(),
  retryable: Type.Boolean(),
});

export const ResultFrame = frame("result", { id: F.RequestId, data: Type.Any() });

export const EventName = F.EventName;
export const EventPush = frame("event", { event: EventName, data: Type.Record(Type.String(), Type.Any()) });

export const ServerFrames = {
  hello_ack: HelloAck,
  result: ResultFrame,
  error: ErrorFrame,
  message: MessagePush,
  event: EventPush,
} satisfies Record<string, TObject>;

export type ServerFrameType = keyof typeof ServerFrames;
export type ServerFrame = { [T in ServerFrameType]: Static<(typeof ServerFrames)[T]> }[ServerFrameType];
export type MessagePushFrame = Static<typeof MessagePush>;
export type HelloAckFrame = Static<typeof HelloAck>;
export type EventFrame = Static<typeof EventPush>;
export type EventNameT = Static<typeof EventName>;
export type SenderInfo = Static<typeof Sender>;
export type MeshInfoT = Static<typeof MeshInfo>;

/** The sender of every notice the broker itself sends (`kind: "system"`, §5.8): a fixed identity
 *  no member can have. A client takes a `system` push only from it, and shows it under this name. */
export const BROKER_SENDER = { memberId: "claudemesh-broker", pubkey: "0".repeat(64), name: "claudemesh broker" } as const;
