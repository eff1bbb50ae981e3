// Row shapes as SQLite returns them (snake_case, INTEGER booleans, JSON text) and their mapping
// to the records of ../types.ts. Every SELECT that feeds a mapper lists the columns it needs.
import type { Cap, Priority, Role, Status } from "../../protocol/fields.ts";
import type { ChainEntry } from "../../protocol/audit-chain.ts";
import type { AttestationFields } from "../../protocol/frames.ts";
import type { Undeliverable } from "../../protocol/results.ts";
import type { Invite, Member, Mesh, Sent, Session, StoredMessage, Topic } from "../types.ts";

export type MeshRow = { id: string; slug: string; name: string; owner_pubkey: string; key_epoch: number; created_at: number };

export const meshFromRow = (r: MeshRow): Mesh => ({
  id: r.id,
  slug: r.slug,
  name: r.name,
  ownerPubkey: r.owner_pubkey,
  keyEpoch: r.key_epoch,
  createdAt: r.created_at,
});

export type MemberRow = {
  id: string;
  mesh_id: string;
  pubkey: string;
  display_name: string;
  role: string;
  joined_at: number;
  revoked_at: number | null;
  revoked_reason: string | null;
  /** Who ended the membership (its own id when it left); schema v5. */
  revoked_by: string | null;
  banned: number;
  status: string;
  summary: string;
  last_seen_at: number | null;
  /** The invite it joined through (null for the owner). */
  invite_id: string | null;
};

export const memberFromRow = (r: MemberRow): Member => ({
  id: r.id,
  meshId: r.mesh_id,
  pubkey: r.pubkey,
  displayName: r.display_name,
  role: r.role as Role,
  joinedAt: r.joined_at,
  revokedAt: r.revoked_at,
  revokedReason: r.revoked_reason,
  revokedBy: r.revoked_by,
  banned: r.banned !== 0,
  status: r.status as Status,
  summary: r.summary,
  lastSeenAt: r.last_seen_at,
});

export type SessionRow = {
  mesh_id: string;
  pubkey: string;
  member_id: string;
  display_name: string;
  cwd: string;
  hostname: string;
  status: string;
  summary: string;
  first_seen_at: number;
  last_seen_at: number;
  ended_at: number | null;
  attestation: string | null;
};

export const sessionFromRow = (r: SessionRow): Session => ({
  meshId: r.mesh_id,
  pubkey: r.pubkey,
  memberId: r.member_id,
  displayName: r.display_name,
  cwd: r.cwd,
  hostname: r.hostname,
  status: r.status as Status,
  summary: r.summary,
  firstSeenAt: r.first_seen_at,
  lastSeenAt: r.last_seen_at,
  endedAt: r.ended_at,
  attestation: r.attestation === null ? null : (JSON.parse(r.attestation) as AttestationFields),
});

export type InviteRow = {
  id: string;
  mesh_id: string;
  role: string;
  max_uses: number;
  used_count: number;
  expires_at: number;
  issuer_member_id: string;
  issuer_pubkey: string;
  invite_pubkey: string;
  signature: string;
  key_signature: string | null;
  keys_blob: string | null;
  created_at: number;
  revoked_at: number | null;
};

export const inviteFromRow = (r: InviteRow): Invite => ({
  id: r.id,
  meshId: r.mesh_id,
  role: r.role as Invite["role"],
  maxUses: r.max_uses,
  usedCount: r.used_count,
  expiresAt: r.expires_at,
  issuerMemberId: r.issuer_member_id,
  issuerPubkey: r.issuer_pubkey,
  invitePubkey: r.invite_pubkey,
  signature: r.signature,
  keySignature: r.key_signature,
  keysBlob: r.keys_blob,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
});

export type TopicRow = { id: number; mesh_id: string; name: string; description: string; created_by: string | null; created_at: number; last_offset: number };

export const topicFromRow = (r: TopicRow): Topic => ({
  id: r.id,
  meshId: r.mesh_id,
  name: r.name,
  description: r.description,
  createdBy: r.created_by,
  createdAt: r.created_at,
  lastOffset: r.last_offset,
});

export const capsFromJson = (text: string): Cap[] => JSON.parse(text) as Cap[];

/** The columns and joins that read a StoredMessage: `topic` is the topic's name, and the sender
 *  member's key falls back to the sending key for senders that are not members (system notices). */
const MESSAGE_COLUMNS = `m.seq, m.id, m.mesh_id, m.sender_member_id, m.sender_pubkey,
    COALESCE(sm.pubkey, m.sender_pubkey) AS sender_member_pubkey, m.sender_name, m.client_message_id,
    m.kind, m.target, t.name AS topic, m.topic_offset, m.priority, m.reply_to, m.nonce, m.ciphertext,
    m.notice, m.created_at`;
const MESSAGE_FROM = `FROM messages m
  LEFT JOIN topics t ON t.id = m.topic_id
  LEFT JOIN members sm ON sm.id = m.sender_member_id`;
export const MESSAGE_SELECT = `SELECT ${MESSAGE_COLUMNS} ${MESSAGE_FROM}`;
/** MESSAGE_SELECT and the mailboxes the send skipped (schema v6): only a retry's answer reads
 *  them, never a push or a history page. */
export const SENT_SELECT = `SELECT ${MESSAGE_COLUMNS}, m.undeliverable ${MESSAGE_FROM}`;

export type MessageRow = {
  seq: number;
  id: string;
  mesh_id: string;
  sender_member_id: string;
  sender_pubkey: string;
  sender_member_pubkey: string;
  sender_name: string;
  client_message_id: string;
  kind: string;
  target: string;
  topic: string | null;
  topic_offset: number | null;
  priority: string;
  reply_to: string | null;
  nonce: string;
  ciphertext: string;
  notice: string | null;
  created_at: number;
};

export const messageFromRow = (r: MessageRow): StoredMessage => ({
  seq: r.seq,
  id: r.id,
  meshId: r.mesh_id,
  senderMemberId: r.sender_member_id,
  senderPubkey: r.sender_pubkey,
  senderMemberPubkey: r.sender_member_pubkey,
  senderName: r.sender_name,
  clientMessageId: r.client_message_id,
  kind: r.kind as StoredMessage["kind"],
  target: r.target,
  topic: r.topic,
  topicOffset: r.topic_offset,
  priority: r.priority as Priority,
  replyTo: r.reply_to,
  nonce: r.nonce,
  ciphertext: r.ciphertext,
  notice: r.notice === null ? null : (JSON.parse(r.notice) as Record<string, unknown>),
  createdAt: r.created_at,
});

export type SentRow = MessageRow & { undeliverable: string | null };

export function sentFromRow(r: SentRow): Sent {
  const message = messageFromRow(r);
  if (r.undeliverable === null) return { message, undeliverable: [] };
  const list = undeliverableFrom(r.undeliverable);
  // A value no send stores (a damaged or edited row): the retry is still told its message is
  // stored, with an empty list, and the broker logs what it found (router.ts).
  return list ? { message, undeliverable: list } : { message, undeliverable: [], unreadable: r.undeliverable.slice(0, 200) };
}

/** The column's list, or null when it holds anything but a list of {to, code} strings. */
export function undeliverableFrom(text: string): Undeliverable[] | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  const item = (u: unknown) => typeof u === "object" && u !== null && typeof (u as Undeliverable).to === "string" && typeof (u as Undeliverable).code === "string";
  return Array.isArray(value) && value.every(item) ? (value as Undeliverable[]).map(({ to, code }) => ({ to, code })) : null;
}

/** The column's value: NULL for the usual empty list, so that most sends store nothing more. */
export const undeliverableColumn = (list: readonly Undeliverable[]): string | null => (list.length === 0 ? null : JSON.stringify(list));

export type AuditRow = { mesh_id: string; seq: number; event_type: string; actor: string | null; payload: string; created_at: string; prev_hash: string; hash: string };

/** A stored payload that is not JSON (a damaged or tampered row) is shown as `{unreadable: text}`:
 *  the log still lists every entry, and verification names this one (its hash cannot match). */
function auditPayload(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return { unreadable: text };
  }
}

export const auditFromRow = (r: AuditRow): ChainEntry => ({
  seq: r.seq,
  meshId: r.mesh_id,
  eventType: r.event_type,
  actor: r.actor,
  payload: auditPayload(r.payload),
  createdAt: r.created_at,
  prevHash: r.prev_hash,
  hash: r.hash,
});

/** Binds a list as one parameter: `x IN (SELECT value FROM json_each(?))` keeps one cached
 *  statement for any list length. */
export const jsonList = (values: readonly (string | number)[]): string => JSON.stringify(values);
