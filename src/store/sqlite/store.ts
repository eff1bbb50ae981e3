// The embedded Store: one SQLite file in the data directory, opened by one broker process.
// Every method is synchronous underneath (bun:sqlite); the async interface lets a networked
// database implement the same contract. Storage failures surface as MeshError unavailable.
import type { Database } from "bun:sqlite";
import { join } from "node:path";
import type { ChainEntry } from "../../protocol/audit-chain.ts";
import type { Cap, Status } from "../../protocol/fields.ts";
import type * as T from "../types.ts";
import { AuditRepo } from "./audit-repo.ts";
import { guard } from "./db-errors.ts";
import { DiskWrites } from "./disk-writes.ts";
import { GrantRepo } from "./grant-repo.ts";
import { GroupRepo } from "./group-repo.ts";
import { InviteRepo } from "./invite-repo.ts";
import { invitePage } from "./invite-pages.ts";
import { LockWatch } from "./lock-watch.ts";
import { MemberRepo } from "./member-repo.ts";
import { MeshRepo } from "./mesh-repo.ts";
import { readSettings, type StorageSettings } from "./open.ts";
import { WalSync } from "./wal-sync.ts";
import type { CheckpointStats } from "./checkpointer.ts";
import type { CheckpointerReport } from "./checkpoint-protocol.ts";
import { QueueIndex } from "./queue-index.ts";
import { QueueRepo } from "./queue-repo.ts";
import { SendRepo } from "./send-repo.ts";
import { SessionRepo } from "./session-repo.ts";
import { Sweeper } from "./sweep.ts";
import { TopicTrims } from "./topic-trims.ts";
import { TopicRepo } from "./topic-repo.ts";
import { writeTx } from "./transaction.ts";

export class SqliteStore implements T.Store {
  private readonly audit: AuditRepo;
  private readonly meshes: MeshRepo;
  private readonly members: MemberRepo;
  private readonly sessions: SessionRepo;
  private readonly invites: InviteRepo;
  private readonly topics: TopicRepo;
  private readonly groups: GroupRepo;
  private readonly grants: GrantRepo;
  private readonly sends: SendRepo;
  private readonly queue: QueueRepo;
  private readonly sweeper: Sweeper;
  private readonly disk: DiskWrites;
  readonly fatal: Promise<Error>;
  /** Topic history retention (topic-trims.ts); read by tests and probes for what sweeps look at. */
  readonly trims: TopicTrims;

  constructor(
    private readonly database: Database,
    readonly epoch: string,
    private readonly index: QueueIndex,
    wal: WalSync | null,
  ) {
    // From here on writes wait for another process's lock BUSY_TIMEOUT_MS at most (lock-watch.ts).
    this.disk = new DiskWrites(wal, new LockWatch(database));
    this.fatal = this.disk.fatal;
    const db = database;
    this.audit = new AuditRepo(db);
    this.meshes = new MeshRepo(db, this.audit);
    this.members = new MemberRepo(db, this.audit, this.index);
    this.sessions = new SessionRepo(db, this.index);
    this.invites = new InviteRepo(db, this.audit);
    const trims = (this.trims = new TopicTrims(db));
    this.index.onTopicFreed = (seq, topic) => trims.freed(seq, topic);
    this.topics = new TopicRepo(db, this.audit, trims);
    this.groups = new GroupRepo(db);
    this.grants = new GrantRepo(db, this.audit);
    this.sends = new SendRepo(db, this.index, trims);
    this.queue = new QueueRepo(db, this.index);
    this.sweeper = new Sweeper(db, this.index, this.sends, trims);
  }

  /** SQLite's settings as it reports them, and whether every answer waits for a flush of the WAL
   *  (synchronous "full": SQLite runs NORMAL and the store flushes, wal-sync.ts). */
  settings(): StorageSettings & { walFlushBeforeAnswers: boolean } {
    return { ...readSettings(this.database), walFlushBeforeAnswers: this.disk.flushes };
  }

  /** Called once, by openSqliteStore: moves checkpoints to a worker thread (checkpointer.ts). */
  startCheckpointer(path: string, onReport: (r: CheckpointerReport) => void, entry?: string): void {
    this.disk.startCheckpointer(this.database, path, onReport, entry);
  }

  /** Background checkpoints so far, or null when SQLite checkpoints inline (no thread). */
  checkpointStats(): CheckpointStats | null {
    return this.disk.checkpointStats();
  }

  /** Slow flushes, locks and recoveries, for the broker's metrics and log (disk-writes.ts). */
  watchDisk(listener: (e: T.DiskEvent) => void): void {
    this.disk.watch(listener);
  }

  /** The underlying connection, for tests and maintenance commands. */
  get db(): Database {
    return this.database;
  }

  close(): void {
    this.disk.close(this.database);
  }

  /** Runs a write, then (with synchronous "full") waits until it is on stable storage: every answer
   *  about a write comes after this (commitWrites leaves the wait to its caller: one flush a batch). */
  private async write<T>(fn: () => T): Promise<T> {
    const out = this.disk.run(fn);
    await this.disk.flushed();
    return out;
  }

  /** Resolves once every write so far is on stable storage; a failed flush rejects (disk-writes.ts). */
  flushed(): Promise<void> {
    return this.disk.flushed();
  }

  /** SQLite's quick_check of the whole file: "ok", or its findings joined with "; ". Reads every
   *  page, so it is for `serve --check`, not for a running broker. */
  quickCheck(): string {
    return this.database
      .query<{ quick_check: string }, []>("PRAGMA quick_check")
      .all()
      .map((r) => r.quick_check)
      .join("; ");
  }

  /** A committed write and the schema version; a lock held longer than any write waits reads as
   *  not writable, saying so. Never throws. */
  async health(): Promise<T.Health> {
    return this.disk.health(this.database);
  }
  async getMeta(key: string) {
    return guard(() => this.database.query<{ value: string }, [string]>("SELECT value FROM broker_meta WHERE key = ?").get(key)?.value ?? null);
  }
  async setMeta(key: string, value: string) {
    await this.write(() => this.database.query("INSERT INTO broker_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(key, value));
  }
  async rememberSignature(signature: string, expiresAt: number, acceptableFrom: number) {
    return this.write(() => this.sweeper.signatures.remember(signature, expiresAt, acceptableFrom));
  }

  // Meshes and members.
  async createMesh(input: Parameters<T.Store["createMesh"]>[0]) {
    return this.write(() => this.meshes.create(input));
  }
  async getMesh(meshId: string) {
    return guard(() => this.meshes.get(meshId));
  }
  async listMeshes() {
    return guard(() => this.meshes.list());
  }
  async setKeyEpoch(meshId: string, epoch: number, actor: string, reason: string | null) {
    return this.write(() => this.meshes.setKeyEpoch(meshId, epoch, actor, reason));
  }
  async getMember(meshId: string, memberId: string) {
    return guard(() => this.members.get(meshId, memberId));
  }
  async getMemberByPubkey(meshId: string, pubkey: string) {
    return guard(() => this.members.getByPubkey(meshId, pubkey));
  }
  async listMembers(meshId: string) {
    return guard(() => this.members.list(meshId));
  }
  async listActiveMembers(meshId: string) {
    return guard(() => this.members.listActive(meshId));
  }
  async revokeMember(meshId: string, memberId: string, by: { actor: string; ban: boolean; reason: string | null; self: boolean }) {
    return this.write(() => this.members.revoke(meshId, memberId, by));
  }
  async setPresence(meshId: string, pubkey: string, fields: { status?: Status; summary?: string; lastSeenAt?: number }) {
    return this.write(() => this.members.setPresence(meshId, pubkey, fields));
  }

  // Sessions.
  async upsertSession(s: Parameters<T.Store["upsertSession"]>[0]) {
    return this.write(() => this.sessions.upsert(s));
  }
  async setSessionAttestation(meshId: string, pubkey: string, attestation: Parameters<T.Store["setSessionAttestation"]>[2]) {
    await this.write(() => this.sessions.setAttestation(meshId, pubkey, attestation));
  }
  async getSession(meshId: string, pubkey: string) {
    return guard(() => this.sessions.get(meshId, pubkey));
  }
  async listSessions(meshId: string, since: number, memberId?: string) {
    return guard(() => this.sessions.listLive(meshId, since, memberId));
  }
  async endSession(meshId: string, pubkey: string, at: number) {
    return this.write(() => this.sessions.end(meshId, pubkey, at));
  }
  async pruneSessions(nowMs: number, messageTtlMs: number, from: T.SessionPrunePlace | null) {
    return this.write(() => this.sessions.prune(nowMs, messageTtlMs, from));
  }
  async handOverToSession(input: Parameters<T.Store["handOverToSession"]>[0]) {
    return this.write(() => this.sessions.handOver(input.meshId, input.memberPubkey, input.sessionPubkey, input.quota, input.nowMs));
  }
  async giveBackFromSession(input: Parameters<T.Store["giveBackFromSession"]>[0]) {
    return this.write(() => this.sessions.giveBack(input.meshId, input.memberPubkey, input.sessionPubkey, input.given));
  }

  // Invites.
  async createInvite(invite: Omit<T.Invite, "usedCount" | "revokedAt">, actor: string) {
    return this.write(() => this.invites.create(invite, actor));
  }
  async getInvite(inviteId: string) {
    return guard(() => this.invites.get(inviteId));
  }
  async listInvites(meshId: string, q: T.InvitePageQuery) {
    return guard(() => invitePage(this.database, meshId, q));
  }
  async revokeInvite(meshId: string, inviteId: string, actor: string) {
    return this.write(() => this.invites.revoke(meshId, inviteId, actor));
  }
  async claimInvite(input: Parameters<T.Store["claimInvite"]>[0]) {
    return this.write(() => this.invites.claim(input));
  }
  async listAdmissions(meshId: string) {
    return guard(() => this.members.admissions(meshId));
  }
  async getAdmission(meshId: string, memberId: string) {
    return guard(() => this.members.admission(meshId, memberId));
  }
  async countClaims(meshId: string, inviteId: string) {
    return guard(() => this.members.claimsThrough(meshId, inviteId));
  }

  // Topics and groups.
  async createTopic(meshId: string, name: string, description: string, creator: string) {
    return this.write(() => this.topics.create(meshId, name, description, creator));
  }
  async getTopic(meshId: string, name: string) {
    return guard(() => this.topics.get(meshId, name));
  }
  async listTopics(meshId: string) {
    return guard(() => this.topics.list(meshId));
  }
  async joinTopic(topicId: number, memberId: string) {
    return this.write(() => this.topics.join(topicId, memberId));
  }
  async leaveTopic(topicId: number, memberId: string) {
    return this.write(() => this.topics.leave(topicId, memberId));
  }
  async topicMembers(topicId: number, memberId?: string) {
    return guard(() => this.topics.members(topicId, memberId));
  }
  async memberTopics(meshId: string, memberId: string) {
    return guard(() => this.topics.ofMember(meshId, memberId));
  }
  async topicHistory(topicId: number, afterOffset: number, limit: number, maxBytes?: number) {
    return guard(() => this.topics.history(topicId, afterOffset, limit, maxBytes));
  }
  async joinGroup(meshId: string, group: string, memberId: string) {
    return this.write(() => this.groups.join(meshId, group, memberId));
  }
  async leaveGroup(meshId: string, group: string, memberId: string) {
    return this.write(() => this.groups.leave(meshId, group, memberId));
  }
  async groupMembers(meshId: string, group: string) {
    return guard(() => this.groups.members(meshId, group));
  }
  async memberGroups(meshId: string, memberId: string) {
    return guard(() => this.groups.ofMember(meshId, memberId));
  }
  async meshMemberGroups(meshId: string) {
    return guard(() => this.groups.ofMesh(meshId));
  }

  // Grants.
  async setGrant(meshId: string, recipientMemberId: string, senderPubkey: string, caps: Cap[] | null, actor: string) {
    return this.write(() => this.grants.set(meshId, recipientMemberId, senderPubkey, caps, actor));
  }
  async listGrants(recipientMemberId: string) {
    return guard(() => this.grants.of(recipientMemberId));
  }
  async meshGrants(meshId: string) {
    return guard(() => this.grants.ofMesh(meshId));
  }

  // Messages and queues.
  async findSent(meshId: string, senderPubkey: string, clientMessageId: string) {
    return guard(() => this.sends.findSent(meshId, senderPubkey, clientMessageId));
  }

  async commitWrites(batch: T.WriteBatch, topicHistoryLimit: number, nowMs: number) {
    // One transaction: the pages sends and acks share (the queue's right edge) are written once.
    return this.disk.run(() => {
      const { sends, acks } = writeTx(this.database, () => ({
        sends: this.sends.stage(batch.sends, topicHistoryLimit),
        acks: this.queue.stageAcks(batch.acks, nowMs),
      }));
      sends.apply();
      acks.apply();
      return { sends: sends.out, acks: acks.out };
    });
  }
  async queueDepth(mailbox: T.Mailbox) {
    return this.index.depth(mailbox.meshId, mailbox.pubkey);
  }
  async queueLoad(meshId: string, mailboxes: readonly string[], senderMemberId: string) {
    return this.queue.load(meshId, mailboxes, senderMemberId);
  }
  async totalQueueDepth() {
    return this.queue.total();
  }
  async claim(meshId: string, mailboxes: readonly string[], opts: T.ClaimOptions) {
    return guard(() => this.queue.claim(meshId, mailboxes, opts));
  }
  async releaseClaims(conn: string) {
    return guard(() => this.queue.releaseClaims(conn));
  }
  async pendingCount(meshId: string, mailboxes: readonly string[]) {
    return guard(() => this.queue.pendingCount(meshId, mailboxes));
  }
  /** The contract's sweep. Without `notice` (tests and tools) it stores no notices and its result
   *  has no `notices`, and invites are judged expired by `nowMs`. */
  sweep(nowMs: number, dedupWindowMs: number): Promise<T.SweepResult>;
  sweep(nowMs: number, dedupWindowMs: number, notice: T.ExpiryNotice, invitesExpiredByMs?: number): Promise<T.SweepOutcome>;
  async sweep(nowMs: number, dedupWindowMs: number, notice?: T.ExpiryNotice, invitesExpiredByMs = nowMs): Promise<T.SweepResult | T.SweepOutcome> {
    return this.write(() => this.sweeper.sweep(nowMs, dedupWindowMs, notice, undefined, invitesExpiredByMs));
  }

  // Not part of the Store contract: narrower reads and writes, for tests and tools.
  /** Sends only; resolves at commit (flushed() is the caller's: through DiskWrites.run, which
   *  counts the commit, or flushed() would find nothing new to sync). */
  async commitSends(batch: readonly T.NewMessage[], topicHistoryLimit: number) {
    return this.disk.run(() => this.sends.commit(batch, topicHistoryLimit));
  }
  /** Acks only; resolves at commit (flushed() is the caller's, as for commitSends). */
  async ackMany(items: readonly T.AckBatchItem[], nowMs: number) {
    return this.disk.run(() => this.queue.ackMany(items, nowMs));
  }
  /** One mailbox set's ack, flushed like any other write; returns entries removed. */
  async ack(meshId: string, mailboxes: readonly string[], messageIds: readonly string[], nowMs: number) {
    return this.write(() => this.queue.ack(meshId, mailboxes, messageIds, nowMs));
  }

  // Audit.
  async appendAudit(event: T.AuditEvent): Promise<ChainEntry> {
    return this.write(() => this.audit.append(event));
  }
  async listAudit(meshId: string, afterSeq: number, limit: number) {
    return guard(() => this.audit.list(meshId, afterSeq, limit));
  }
  async auditTail(meshId: string, limit: number) {
    return guard(() => this.audit.tail(meshId, limit));
  }
  async countAudit(meshId: string) {
    return guard(() => this.audit.count(meshId));
  }
  async auditSizes() {
    return guard(() => this.audit.sizes());
  }
}
