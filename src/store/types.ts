// What the broker needs from storage, as use-case operations. Each operation is atomic. The
// embedded implementation is SQLite (sqlite/); a PostgreSQL one can implement the same interface
// for several brokers (advisory locks for the audit chain, SKIP LOCKED for claims) without any
// change to broker/.
import type { Cap, Priority, Role, Status } from "../protocol/fields.ts";
import type { ChainEntry } from "../protocol/audit-chain.ts";
import type { AdmissionInfo, Undeliverable } from "../protocol/results.ts";
import type { AttestationFields } from "../protocol/frames.ts";

export type Mesh = { id: string; slug: string; name: string; ownerPubkey: string; keyEpoch: number; createdAt: number };

export type Member = {
  id: string;
  meshId: string;
  pubkey: string;
  displayName: string;
  role: Role;
  joinedAt: number;
  revokedAt: number | null;
  revokedReason: string | null;
  /** The member id of who ended the membership: the owner or admin who removed it, or its own
   *  when it left by itself; null while a member (and for a removal the audit chain did not
   *  record, from before schema v5). The reason is free text and tells nothing apart. */
  revokedBy: string | null;
  banned: boolean;
  status: Status;
  summary: string;
  lastSeenAt: number | null;
};

export type Session = {
  meshId: string;
  pubkey: string;
  memberId: string;
  displayName: string;
  cwd: string;
  hostname: string;
  status: Status;
  summary: string;
  firstSeenAt: number;
  lastSeenAt: number;
  endedAt: number | null;
  /** The latest attestation the session presented (hello or `attest`); null before schema v4. */
  attestation: AttestationFields | null;
};

export type Invite = {
  id: string;
  meshId: string;
  role: "admin" | "member";
  maxUses: number;
  usedCount: number;
  /** seconds since the epoch */
  expiresAt: number;
  issuerMemberId: string;
  issuerPubkey: string;
  invitePubkey: string;
  signature: string;
  /** The issuer's signature binding invitePubkey to this invite (§3.4b); null before schema v3. */
  keySignature: string | null;
  keysBlob: string | null;
  createdAt: number;
  revokedAt: number | null;
};

/** An invite as `invite_list` shows it: the row without what only claims read (signatures, keys). */
export type ListedInvite = Pick<Invite, "id" | "meshId" | "role" | "maxUses" | "usedCount" | "expiresAt" | "issuerMemberId" | "createdAt" | "revokedAt">;

/** Which of a mesh's invites one listInvites call reads (protocol §4.3.23). */
export type InvitePageQuery = {
  /** The page starts after this invite of the mesh; null: from the first. */
  afterInviteId: string | null;
  /** Only this invite; null: any. */
  inviteId: string | null;
  /** Most invites the page holds. */
  limit: number;
  /** Only the invites open at this time (seconds): not revoked, not used up, `expiresAt` after it;
   *  null: every invite. */
  openAt: number | null;
};

/** A page of invites, oldest first; `next` null when the list ends with it, else the
 *  afterInviteId of the page after it. */
export type InvitePage = { invites: ListedInvite[]; next: string | null };

/** What a member's enrolment is made of, signed by others than the broker (§11.5): kept by the
 *  store exactly as `member_list` returns it. */
export type Admission = AdmissionInfo;

export type Topic = { id: number; meshId: string; name: string; description: string; createdBy: string | null; createdAt: number; lastOffset: number };
export type TopicMember = { memberId: string; displayName: string; pubkey: string; role: "lead" | "member" };
export type Grant = { recipientMemberId: string; senderPubkey: string; caps: Cap[] };

/** A message as stored and pushed. */
export type StoredMessage = {
  seq: number;
  id: string;
  meshId: string;
  senderMemberId: string;
  senderPubkey: string;
  senderMemberPubkey: string;
  senderName: string;
  clientMessageId: string;
  kind: "direct" | "broadcast" | "group" | "topic" | "system";
  target: string;
  topic: string | null;
  topicOffset: number | null;
  priority: Priority;
  replyTo: string | null;
  nonce: string;
  ciphertext: string;
  notice: Record<string, unknown> | null;
  createdAt: number;
};

/** A mailbox: the queue of one member key or one session key in one mesh. */
export type Mailbox = { meshId: string; pubkey: string };

/** What the quota checks of a send read (docs/protocol.md §5.11), committed entries only: for
 *  each mailbox asked about, in that order, its entries (`depths`) and how many of them are the
 *  sending member's messages (`fromSender`); and the entries of the mesh's mailboxes and of all
 *  mailboxes of the store. */
export type QueueLoad = { depths: number[]; fromSender: number[]; mesh: number; total: number };

export type NewMessage = Omit<StoredMessage, "seq" | "id" | "topicOffset" | "senderMemberPubkey" | "createdAt"> & {
  topicId: number | null;
  expiresAt: number;
  /** Mailboxes to queue for, already filtered by grants and quotas. */
  recipients: readonly string[];
  /** Mailboxes whose rows are created already claimed by a live connection (pushed now). */
  claimFor: Map<string, string>;
  /** Member-key mailboxes whose member had no session around when the message committed: their
   *  entries are kept for the member's next session. Also the session mailboxes that hold it in
   *  their member's name, being the only session of their member it reaches: ended unacked, they
   *  pass it to the next session (protocol §5.1). Filled at commit time. */
  forNextSession: Set<string>;
  /** Mailboxes the send skipped (full queues), kept with the message so that a retry's result
   *  lists them again (protocol §5.3). Usually empty, which stores nothing. */
  undeliverable: readonly Undeliverable[];
};

/** What a session's hello took in its member's name (message ids): entries it was given a copy
 *  of, and entries its mailbox held already whose mark it took (Store.handOverToSession). */
export type HandedOver = { copied: string[]; took: string[] };

/** Where a pass of Store.pruneSessions stands, for each kind of old row (ended, unseen): the
 *  position of the last row it looked at, "done", or null before the first. Passed back as is. */
export type SessionPrunePlace = { ended: number[] | "done" | null; unseen: number[] | "done" | null };

/** A stored send as its sender's result describes it: the message and the mailboxes it skipped.
 *  `unreadable`: the stored list was damaged (its first 200 characters); `undeliverable` is then
 *  empty. */
export type Sent = { message: StoredMessage; undeliverable: readonly Undeliverable[]; unreadable?: string };

/** `undeliverable` is the original's for a duplicate (as stored with it), the send's own otherwise. */
export type SendOutcome = Sent & { duplicate: boolean; recipients: readonly string[] };

export type AuditEvent = { meshId: string; eventType: string; actor: string | null; payload: Record<string, unknown> };

export type ClaimOptions = {
  /** Connection id taking the claim. */
  conn: string;
  limit: number;
  /** Which priorities may be handed out (status gating); undefined = all. */
  priorities?: readonly Priority[];
  /** Stop after the message whose ciphertext brings the total to this many bytes (at least one
   *  message is claimed); undefined = no byte budget. Paces pushes to a slow reader. */
  maxBytes?: number;
};

export type AckBatchItem = { meshId: string; mailbox: string; messageIds: readonly string[] };

/** What one ack removed: queue entries in all, and of those the entries of the broker's own
 *  notices (kind "system", protocol §5.8), which are not members' messages
 *  (broker_messages_delivered_total{kind}). */
export type AckCount = { removed: number; notices: number };

/** What one group commit writes: sends and acks, in one transaction. */
export type WriteBatch = { sends: readonly NewMessage[]; acks: readonly AckBatchItem[] };

/** Builds the system notice that tells a sender its message expired undelivered (protocol §5.8).
 *  The broker owns the notice's content; the store stores it like a send. */
export type ExpiryNotice = (expired: StoredMessage) => NewMessage;

export type SweepResult = {
  expiredRows: number;
  /** Of expiredRows, the entries of the broker's own notices (kind "system"): what a sender never
   *  came back for, not a member's message lost (broker_messages_expired_total{kind}). */
  expiredNoticeRows: number;
  /** Non-system messages whose last queue entries just expired, none of them acked. */
  expiredMessages: StoredMessage[];
  deletedMessages: number;
  seenSignatures: number;
  /** The sweep stopped at its limit of rows: more may be due, for another sweep. */
  more: boolean;
};

/** A sweep and the expiry notices stored in its transaction, in expiredMessages order, to deliver
 *  (a notice stored before comes back with duplicate=true and no recipients). */
export type SweepOutcome = SweepResult & { notices: SendOutcome[] };

/** What recording a signature found (Store.rememberSignature). */
export type SignatureUse = "recorded" | "replayed" | "forgotten" | "before_restore";

export type Health = { writable: boolean; schemaVersion: number; expectedVersion: number; error: string | null };

/** What the storage tells the broker of its disk and its lock as it happens (Store.watchDisk), for
 *  the log and the metrics: a WAL flush ended (`ms`: how long the fdatasync took, failed or not);
 *  a write met another process's write lock on the file `db` (the first in a row to meet it:
 *  hellos, sweeps, sends and probes alike); the first write through after that (`lockedForMs`: since the first meeting);
 *  the first write through after writes failed for the disk or the file (`trouble`: the last such
 *  failure, "SQLITE_FULL: database or disk is full"). */
export type DiskEvent =
  | { kind: "flushed"; ms: number }
  | { kind: "locked"; db: string; err: Error }
  | { kind: "unlocked"; lockedForMs: number }
  | { kind: "recovered"; trouble: string };

export interface Store {
  /** Random id of this database, new on creation and on restore; clients resync when it changes. */
  readonly epoch: string;
  /** Settles once the store can no longer vouch for its writes (a flush to disk failed): every
   *  later write fails with `unavailable`, and the process must stop so that a restart re-reads
   *  what the disk holds. Never settles in normal operation. */
  readonly fatal: Promise<Error>;
  close(): void;
  health(): Promise<Health>;
  /** What the storage runs with, read back from it rather than assumed (serve's start log). */
  settings(): Readonly<Record<string, string | number | boolean>>;
  /** Engine-specific: the embedded store's background WAL checkpoints (null: none run). */
  checkpointStats?(): { checkpoints: number; busy: number; failures: number; running: boolean } | null;
  /** Engine-specific: hears the storage's disk and lock events from now on (one listener). */
  watchDisk?(listener: (e: DiskEvent) => void): void;

  /** Broker-wide settings kept with the data (e.g. the operator token's hash). */
  getMeta(key: string): Promise<string | null>;
  setMeta(key: string, value: string): Promise<void>;

  /** Records a signature as used until `expiresAt`, a time fixed by what it signs: "recorded";
   *  "replayed" if it was recorded before; "forgotten" (nothing recorded) if a sweep may have
   *  deleted it, whatever the wall clock did since (protocol.md §8.3); "before_restore" (nothing
   *  recorded) if the broker could have accepted it before a restore that could not carry the
   *  replaced database's replay memory over (§2.5). `acceptableFrom`: the earliest broker time at
   *  which the signature passes its time checks, fixed by what it signs too. */
  rememberSignature(signature: string, expiresAt: number, acceptableFrom: number): Promise<SignatureUse>;

  createMesh(input: { mesh: Omit<Mesh, "keyEpoch">; owner: { id: string; pubkey: string; displayName: string } }): Promise<{ mesh: Mesh; owner: Member; repeated: boolean }>;
  getMesh(meshId: string): Promise<Mesh | null>;
  /** Every mesh on this broker, oldest first, with its count of active members (operator view). */
  listMeshes(): Promise<(Mesh & { activeMembers: number })[]>;
  setKeyEpoch(meshId: string, epoch: number, actor: string, reason: string | null): Promise<void>;

  getMember(meshId: string, memberId: string): Promise<Member | null>;
  getMemberByPubkey(meshId: string, pubkey: string): Promise<Member | null>;
  listMembers(meshId: string): Promise<Member[]>;
  /** The members not removed, in joining order: what a join and the roster read, whatever the
   *  number of rows of members who left (kept for good). */
  listActiveMembers(meshId: string): Promise<Member[]>;
  /** Also revokes the invites the member issued that still have uses and, unless it left by
   *  itself, the one it joined through; returns their ids. A member already revoked: MeshError
   *  conflict, nothing changed. */
  revokeMember(meshId: string, memberId: string, by: { actor: string; ban: boolean; reason: string | null; self: boolean }): Promise<{ member: Member; invitesRevoked: string[] }>;
  setPresence(meshId: string, pubkey: string, fields: { status?: Status; summary?: string; lastSeenAt?: number }): Promise<void>;

  /** Creates or revives the session; MeshError revoked (and no row) once its member is removed. */
  upsertSession(s: Omit<Session, "firstSeenAt" | "endedAt" | "status" | "summary">): Promise<Session>;
  /** Keeps the newer attestation a live session presented (`attest`). */
  setSessionAttestation(meshId: string, pubkey: string, attestation: AttestationFields): Promise<void>;
  getSession(meshId: string, pubkey: string): Promise<Session | null>;
  /** Live (not ended) sessions seen at or after `since`, most recently seen first; only
   *  `memberId`'s when given, read without reading the rest of the mesh's. */
  listSessions(meshId: string, since: number, memberId?: string): Promise<Session[]>;
  /** Ends the session and drops its mailbox; what it drops that the member's mailbox holds is
   *  marked for the member's next session again. */
  endSession(meshId: string, pubkey: string, at: number): Promise<void>;
  /** One bounded step of a pass over the rows of sessions long over, oldest first: deletes those
   *  ended at least `messageTtlMs` before `nowMs`, or never ended and unseen for twice that, whose
   *  mailbox holds nothing (docs/operations.md, "Old session rows"). A pass starts with `from`
   *  null and goes on with each answer's `next` until that is null. */
  pruneSessions(nowMs: number, messageTtlMs: number, from: SessionPrunePlace | null): Promise<{ deleted: number; next: SessionPrunePlace | null }>;
  /** Copies into a session's mailbox the member-key entries marked for the member's next session
   *  (NewMessage.forNextSession), oldest first, until the mailbox holds `quota` entries (counted
   *  in the same transaction as the copy), and unmarks them; says what it copied and what it took
   *  (protocol §5.1). Applied at the call, before any later write is: the broker relies on it. */
  handOverToSession(input: { meshId: string; memberPubkey: string; sessionPubkey: string; quota: number; nowMs: number }): Promise<HandedOver>;
  /** Undoes handOverToSession for a session whose hello was refused after it: of what that hello
   *  took (`given`), what no connection has claimed since is marked again on the member's mailbox;
   *  its copies leave the session's mailbox, entries it held already stay. Returns how many. */
  giveBackFromSession(input: { meshId: string; memberPubkey: string; sessionPubkey: string; given: HandedOver }): Promise<number>;

  createInvite(invite: Omit<Invite, "usedCount" | "revokedAt">, actor: string): Promise<Invite>;
  getInvite(inviteId: string): Promise<Invite | null>;
  /** One page of the mesh's invites in the order of (createdAt, then the order they were stored),
   *  reading at most INVITE_PAGE_SCAN rows past the page's start whatever the mesh holds. An
   *  afterInviteId the mesh has no invite of → MeshError invalid_argument. */
  listInvites(meshId: string, q: InvitePageQuery): Promise<InvitePage>;
  revokeInvite(meshId: string, inviteId: string, actor: string): Promise<Invite>;
  /** Atomically consumes one use (maxUses holds under concurrency), enrolls the member, joins
   *  #general and appends the audit entry. A key already enrolled through this invite gets that
   *  enrolment back, and nothing is written (`repeated`: a claim whose answer was lost). Throws
   *  MeshError invite_* or conflict. */
  /** `claim` is the claim as the joiner signed it with the invite key, kept as evidence. */
  claimInvite(input: { inviteId: string; nowMs: number; member: { id: string; pubkey: string; displayName: string }; claim: { timestamp: number; inviteSignature: string } }): Promise<{ member: Member; invite: Invite; keysBlob: string | null; repeated: boolean }>;
  /** The stored evidence of each member's enrolment, by member id (members enrolled through an
   *  invite since schema v3; not the owner). */
  listAdmissions(meshId: string): Promise<Map<string, Admission>>;
  /** One member's evidence, as listAdmissions holds it; null when it has none. */
  getAdmission(meshId: string, memberId: string): Promise<Admission | null>;
  /** How many members of the mesh, removed ones included, listAdmissions shows enrolled through
   *  the invite: counted, not read out (member_lookup's `claims`). */
  countClaims(meshId: string, inviteId: string): Promise<number>;

  createTopic(meshId: string, name: string, description: string, creator: string): Promise<Topic>;
  getTopic(meshId: string, name: string): Promise<Topic | null>;
  listTopics(meshId: string): Promise<(Topic & { members: number })[]>;
  joinTopic(topicId: number, memberId: string): Promise<boolean>;
  leaveTopic(topicId: number, memberId: string): Promise<boolean>;
  /** Active members of the topic, leads first; only `memberId` (or none) when given, reading one row. */
  topicMembers(topicId: number, memberId?: string): Promise<TopicMember[]>;
  /** Ids of the mesh's topics the member is in, ascending. */
  memberTopics(meshId: string, memberId: string): Promise<number[]>;
  /** Topic messages with offset > afterOffset, oldest first, and the earliest retained offset;
   *  with `maxBytes`, only up to the message whose ciphertext brings the page's to it (at least one). */
  topicHistory(topicId: number, afterOffset: number, limit: number, maxBytes?: number): Promise<{ messages: StoredMessage[]; earliestOffset: number; lastOffset: number }>;

  /** Idempotent; past MAX_GROUPS_PER_MEMBER groups of the mesh, MeshError invalid_argument. */
  joinGroup(meshId: string, group: string, memberId: string): Promise<void>;
  leaveGroup(meshId: string, group: string, memberId: string): Promise<void>;
  groupMembers(meshId: string, group: string): Promise<string[]>;
  /** Every member's groups in the mesh at once (member id → sorted names; a member in no group is
   *  absent), so listing peers costs one query, not one per member. */
  meshMemberGroups(meshId: string): Promise<Map<string, string[]>>;
  /** One member's groups, sorted (peer_lookup lists a few members, not the mesh). */
  memberGroups(meshId: string, memberId: string): Promise<string[]>;

  setGrant(meshId: string, recipientMemberId: string, senderPubkey: string, caps: Cap[] | null, actor: string): Promise<void>;
  listGrants(recipientMemberId: string): Promise<Grant[]>;
  /** Every grant row of a mesh (cached by the broker's roster; invalidated on grant_set). */
  meshGrants(meshId: string): Promise<Grant[]>;

  /** The message a sender already stored under this client message id, with the mailboxes its
   *  send skipped (empty for one stored before schema v6), if any (retry detection). */
  findSent(meshId: string, senderPubkey: string, clientMessageId: string): Promise<Sent | null>;
  /** The broker's group commit: a batch of sends and acks in one transaction; send outcomes and
   *  removed counts in the order given. A retried clientMessageId from the same sender returns the
   *  original message and its undeliverable list with duplicate=true (nothing new queued). An ack removes the entries of its
   *  mailbox holding those message ids, claimed or not; unknown ids are ignored. Resolves once
   *  committed: the messages survive a crash of the broker process. Unlike every
   *  other write, it does not wait for the flush that makes them survive a power loss: await
   *  flushed() before telling a sender its message is stored, pushing it or answering an ack. Throws
   *  StoreLocked (store/errors.ts) when another process holds the database's write lock: nothing
   *  was written, and the same batch may be committed later. */
  commitWrites(batch: WriteBatch, topicHistoryLimit: number, nowMs: number): Promise<{ sends: SendOutcome[]; acks: AckCount[] }>;
  /** Resolves once everything committed so far survives a power loss (at once for a store whose
   *  commits are already durable). */
  flushed(): Promise<void>;
  /** Queue depth per mailbox (maintained in memory by the embedded store). */
  queueDepth(mailbox: Mailbox): Promise<number>;
  /** The counts a send's quota checks need, in one call whatever the fan-out (maintained in
   *  memory by the embedded store: O(1) per mailbox). */
  queueLoad(meshId: string, mailboxes: readonly string[], senderMemberId: string): Promise<QueueLoad>;
  totalQueueDepth(): Promise<number>;
  /** Claims up to `limit` unclaimed rows of the mailboxes, FIFO, for one connection. */
  claim(meshId: string, mailboxes: readonly string[], opts: ClaimOptions): Promise<StoredMessage[]>;
  /** Returns a connection's unacked claims to the queue (on disconnect). */
  releaseClaims(conn: string): Promise<number>;
  pendingCount(meshId: string, mailboxes: readonly string[]): Promise<number>;
  /** Deletes expired queue rows and, in the same transaction, stores `notice(m)` for every
   *  expiredMessages entry, so no expiry is ever committed without its notice (nor a notice
   *  without its expiry); a notice that fails rolls the whole sweep back. Also deletes delivered
   *  messages past the dedup window, old signatures, and the sealed keys of invites expired by
   *  `invitesExpiredByMs` (a time the broker's clock has stayed past: settled-clock.ts). A bounded
   *  amount of each per call (`more` says when some was left), so that no call holds the broker
   *  long. Resolves once committed and flushed. */
  sweep(nowMs: number, dedupWindowMs: number, notice: ExpiryNotice, invitesExpiredByMs: number): Promise<SweepOutcome>;

  appendAudit(event: AuditEvent): Promise<ChainEntry>;
  /** Entries with seq > afterSeq, oldest first, at most `limit`. */
  listAudit(meshId: string, afterSeq: number, limit: number): Promise<ChainEntry[]>;
  /** The newest `limit` entries, newest first. */
  auditTail(meshId: string, limit: number): Promise<ChainEntry[]>;
  countAudit(meshId: string): Promise<number>;
  /** How many entries each mesh's chain holds, for every mesh id the audit log holds entries for,
   *  in mesh id order. */
  auditSizes(): Promise<Map<string, number>>;
}
