// A member's (or session's) view of one mesh, end to end: it seals outgoing messages for their
// target (crypto_box for a key, the epoch's mesh key for *, @group, #topic), opens incoming pushes,
// checks that each says what the broker claims (mesh, sender, target), drops replays, and applies
// mesh keys sent by the owner or an admin. The broker only ever sees {nonce, ciphertext}.
import { randomId } from "../crypto/hash.ts";
import { BoxCache, type Sealed } from "../crypto/box.ts";
import { openEnvelope, sealEnvelope, ReplayGuard, type Inner, type OpenFailure } from "../crypto/envelope.ts";
import { fromBase64, toBase64 } from "../crypto/encoding.ts";
import { newMeshKey } from "../crypto/mesh-keys.ts";
import { PUBKEY_RE } from "../crypto/fields.ts";
import type { SessionAttestation } from "../crypto/attestation.ts";
import { MeshError } from "../protocol/errors.ts";
import type { Priority } from "../protocol/fields.ts";
import type { PeerInfo, Results } from "../protocol/results.ts";
import { recipientDoubt, type Removals } from "./admission.ts";
import { evidenceFor } from "./lookups.ts";
import { isKeyRequest, KeyAnswers, KeyAsks, type KeyAskMemory } from "./key-request.ts";
import { meshKeyList } from "./mesh-key-list.ts";
import { SenderTrace } from "./sender-trace.ts";
import { keyGapRefusal } from "./key-gap.ts";
import { routeMatchesTarget, sealedTopic } from "./push-route.ts";
import { BROKER_SENDER, type MessagePushFrame } from "../protocol/server-frames.ts";

/** How far a member's clock may be behind the owner's session when judging its attestation. */
const KEYS_CLOCK_SKEW_MS = 5 * 60_000;

/** Broker notices remembered to drop their redeliveries. */
const NOTICE_MEMORY = 1000;
import { MAX_CIPHERTEXT_B64_LEN } from "../protocol/limits.ts";
import type { BrokerClient } from "./client.ts";
import { mergeMeshKeys, type MeshKey } from "./local/config-file.ts";
import { keysBody } from "./invite-build.ts";

/** A message as a person or a model reads it. */
export type Delivered = {
  messageId: string;
  meshId: string;
  kind: MessagePushFrame["kind"];
  from: { name: string; pubkey: string; memberPubkey: string; memberId: string };
  to: string;
  topic: string | null;
  topicOffset: number | null;
  priority: Priority;
  createdAt: number;
  replyTo: string | null;
  clientMessageId: string;
  body: string;
  /** The sender asked a question and waits for a reply (replyTo = this messageId). */
  ask: boolean;
  /** A direct message whose sender's member key the member list does not trace to the owner's
   *  signatures: a member enrolled before brokers kept admission evidence, or a key the broker
   *  (which can box to anyone) made up under that name. Shown with that said (sender-doubt.ts). */
  untraced?: true;
};

/** keys: mesh keys were received and applied; key_request: a member asks the owner for the
 *  current keys (answer with answerKeyRequest). Control messages are not shown as text. */
export type Control = "keys" | "key_request";
/** Whether a message refused with `reason` failed verification, which readers report as a sign of
 *  a modified broker: not a repeat (an honest redelivery after a lost ack as often as not), not one
 *  sealed under a key epoch still to come, not keys from an owner session read after its
 *  attestation expired (stale, and asked for again). */
export const failedVerification = (reason: string): boolean => reason !== "replayed" && reason !== "unknown_epoch" && reason !== "keys_stale" && reason !== "unknown_sender";

/** Why a push was not opened. `unknown_sender`: a direct message from a member key not known to be
 *  enrolled yet: read the member list (learnSenders), then open it again with `sendersRead`. */
export type Opened = { ok: true; message: Delivered; control: Control | null } | { ok: false; reason: OpenFailure | "replayed" | "keys_refused" | "keys_stale" | "forged_notice" | "unknown_sender"; messageId: string };

export type Identity = {
  meshId: string;
  /** The key this client speaks as (member key, or session key). */
  publicKey: string;
  secretKey: string;
  /** The member key, for sessions (their DMs to the member key are readable too). */
  memberSecretKey: string;
  memberPubkey: string;
  ownerPubkey: string;
  /** For a session: its member's current attestation, embedded in every message it sends. */
  attestation?: () => SessionAttestation;
};

/** Largest body that always fits once encrypted, as plain text, to any target: the send frame
 *  carries at most MAX_CIPHERTEXT_B64_LEN characters of ciphertext (46,080 bytes), and the inner
 *  JSON around the body (keys, ids, an attestation, a reply id) and a fan-out message's signed
 *  wrapper take up to about 1 KB of that. Text that JSON escapes (quotes, backslashes, line breaks,
 *  control characters) grows when sealed; seal() refuses what then does not fit. */
export const MAX_SEND_BODY_BYTES = 45_000;

export class MeshSession {
  readonly box = new BoxCache();
  readonly replay: ReplayGuard;
  private keys: MeshKey[];

  constructor(
    readonly id: Identity,
    meshKeys: readonly MeshKey[],
    opts: { replay?: ReplayGuard; onKeys?: (keys: MeshKey[]) => void; removals?: () => Removals | undefined; keysAsked?: KeyAskMemory } = {},
  ) {
    this.keys = [...meshKeys];
    this.keyAsks = new KeyAsks(opts.keysAsked ?? null);
    this.replay = opts.replay ?? new ReplayGuard(id.meshId);
    this.onKeys = opts.onKeys ?? (() => {});
    this.removals = opts.removals ?? (() => undefined);
    this.senders = new SenderTrace(id, this.removals);
  }

  private readonly onKeys: (keys: MeshKey[]) => void;
  /** The owner's own record of removals as it stands now (the config, which a `kick` in another
   *  process may just have written); none for other members. */
  private readonly removals: () => Removals | undefined;

  /** Whether this is the mesh owner's identity: nobody hands the owner keys. */
  private get isOwner(): boolean {
    return this.id.memberPubkey === this.id.ownerPubkey;
  }

  get meshKeys(): readonly MeshKey[] {
    return this.keys;
  }

  /** The newest key held. */
  currentKey = (): MeshKey | undefined => this.sealingKey();

  /** The key a fan-out message is sealed under: the newest held, none above `meshEpoch` (the
   *  broker's): one above it is a rotation a stopped rekey saved here first (moderate.ts). */
  sealingKey(meshEpoch = Infinity): MeshKey | undefined {
    return this.keys.reduce<MeshKey | undefined>((a, k) => (k.epoch <= meshEpoch && (!a || k.epoch > a.epoch) ? k : a), undefined);
  }

  /** Seals `body` for `to` (a resolved target), fan-out under sealingKey(`meshEpoch`); throws MeshError. */
  seal(to: string, body: string, kind: Inner["kind"] = "text", opts: { clientMessageId?: string; replyTo?: string; meshEpoch?: number } = {}): Sealed & { clientMessageId: string } {
    if (Buffer.byteLength(body) > MAX_SEND_BODY_BYTES) throw new MeshError("invalid_argument", `The message is ${Buffer.byteLength(body)} bytes; the limit is ${MAX_SEND_BODY_BYTES}.`);
    const clientMessageId = opts.clientMessageId ?? randomId();
    const key = this.sealingKey(opts.meshEpoch);
    const fanOut = !PUBKEY_RE.test(to);
    if (fanOut && !key) throw new MeshError("forbidden", "This member has no mesh key yet, so it cannot post to topics, groups or everyone. Ask the owner to send keys.");
    try {
      const sealed = sealEnvelope(
        { mesh: this.id.meshId, from: this.id.publicKey, to, id: clientMessageId, ts: Date.now(), kind, body, ...(opts.replyTo ? { replyTo: opts.replyTo } : {}), ...(this.id.attestation ? { att: this.id.attestation() } : {}) },
        { mySecret: this.id.secretKey, ...(fanOut ? { meshKey: { epoch: key!.epoch, key: fromBase64(key!.key) } } : {}) },
        this.box,
      );
      // Escaping in the inner JSON (and, for a fan-out message, the signed wrapper around it)
      // can make the sealed text outgrow the send frame's bound even though the body fits.
      if (sealed.ciphertext.length > MAX_CIPHERTEXT_B64_LEN) {
        throw new MeshError("invalid_argument", `The message is too long once encrypted (${sealed.ciphertext.length} characters of ciphertext; the limit is ${MAX_CIPHERTEXT_B64_LEN}). Send a shorter message, or split it.`);
      }
      return { ...sealed, clientMessageId };
    } catch (cause) {
      if (cause instanceof MeshError) throw cause;
      throw new MeshError("invalid_argument", `Cannot encrypt for ${to}: ${(cause as Error).message}`, { cause });
    }
  }

  /** Encrypts and sends; resolves after the broker committed it. Once sent, a failure is a
   *  SendError naming the clientMessageId used (chosen here unless `opts.clientMessageId` gives
   *  one): after `timeout` or `unavailable` send the same body again with that id, never a new
   *  one, so that a message the broker did store is not shown twice (docs/protocol.md §5.3). */
  async send(client: BrokerClient, to: string, body: string, opts: { priority?: Priority; replyTo?: string; kind?: Inner["kind"]; clientMessageId?: string } = {}): Promise<Results["send"]> {
    // After a rotation, a post under an older mesh key is readable by the member the rotation
    // removed: refuse it until the new key (a `keys` message from the owner) has been read.
    const meshEpoch = client.ack?.mesh.keyEpoch ?? 0;
    const mine = this.currentKey()?.epoch ?? 0;
    if (!PUBKEY_RE.test(to) && mine < meshEpoch) {
      const asked = await this.askIfBehind(client);
      throw new MeshError("forbidden", `${keyGapRefusal(this.isOwner, mine, meshEpoch)}${asked ? " The owner was also asked for it again, in case its message was lost or refused." : ""}`);
    }
    await this.vouchFor(client, to);
    const sealed = this.seal(to, body, opts.kind ?? "text", { ...opts, meshEpoch: client.ack?.mesh.keyEpoch });
    return client.request("send", { to, clientMessageId: sealed.clientMessageId, nonce: sealed.nonce, ciphertext: sealed.ciphertext, ...(opts.priority ? { priority: opts.priority } : {}), ...(opts.replyTo ? { replyTo: opts.replyTo } : {}) });
  }

  /** This member's requests for the keys (key-request.ts: at most one per interval for an epoch,
   *  from any process of the machine when `keysAsked` is given). */
  private readonly keyAsks: KeyAsks;
  /** The owner's answers to key requests in this process (answered once: key-request.ts). */
  readonly keyAnswers = new KeyAnswers();

  /** Asks the owner for the mesh keys if this member is behind the mesh's epoch (after joining
   *  with an invite made before a rotation; a post refused for it; a keys message set aside as
   *  stale; an `inbox` that did not bring them), unless asked within the interval (KeyAsks). The
   *  owner asks nobody. True if it asked. */
  async askIfBehind(client: BrokerClient): Promise<boolean> {
    const meshEpoch = client.ack?.mesh.keyEpoch ?? 0;
    if (this.isOwner || (this.currentKey()?.epoch ?? 0) >= meshEpoch) return false;
    return this.keyAsks.ask(this, client, meshEpoch);
  }

  /** Keys a direct message was already found safe to encrypt to (see vouchFor). */
  private readonly vouched = new Set<string>();

  /** Refuses a direct message to a key the sender cannot vouch for (admission.ts recipientDoubt):
   *  the key comes from the broker's lists. The first time a key is used, reads what the check
   *  needs of them (lookups.ts evidenceFor; `peers`, as a name lookup got them, may hold the key's
   *  row). Fan-out targets need nothing: the mesh key goes to vouched members only. send() calls
   *  this; a caller may call it earlier, to refuse before the message is typed. */
  async vouchFor(client: BrokerClient, to: string, peers?: readonly PeerInfo[]): Promise<void> {
    if (!PUBKEY_RE.test(to) || to === this.id.ownerPubkey || to === this.id.memberPubkey || this.vouched.has(to)) return;
    const e = await evidenceFor(client, to, peers);
    const doubt = recipientDoubt(this.id.meshId, this.id.ownerPubkey, to, e.members, e.peers, this.removals(), e.counts);
    if (doubt !== null) throw new MeshError("forbidden", `Not sent: ${doubt}. claudemesh encrypts a direct message only to a key it can trace to the mesh owner's signatures, so that the broker cannot list a key of its own under a member's name.`);
    this.vouched.add(to);
  }

  /** Keys the caller has just vouched for itself (vouchedMembers over the same list, the owner's
   *  removals applied), so that sending to each of them asks the broker nothing more. */
  trust(keys: Iterable<string>): void {
    for (const k of keys) this.vouched.add(k);
  }

  /** Whom a direct message may come from (sender-trace.ts). */
  private readonly senders: SenderTrace;

  /** Reads the member list when a direct message among `pushes` comes from a member key not known
   *  to trace to the owner's signatures (one request; none otherwise), so that open() can tell. */
  learnSenders(client: BrokerClient, pushes: readonly MessagePushFrame[]): Promise<void> {
    return this.senders.learn(client, pushes);
  }

  /** Opens a push. A direct message may be addressed to this identity's key or (for a session)
   *  to its member key. One from a member key not known to be enrolled by the owner's signatures
   *  (nor a session attested by one) is `unknown_sender` until learnSenders ran after it arrived
   *  (`sendersRead`); then it opens marked `untraced` if the list does not trace it either. A
   *  repeat of a message already recorded as seen is refused (`replayed`). With `record: false` the message is not recorded yet: call `recordSeen` once it
   *  was really shown, so a message opened but never seen is not mistaken for a replay when
   *  redelivered. */
  open(m: MessagePushFrame, opts: { record?: boolean; sendersRead?: boolean } = {}): Opened {
    const record = opts.record ?? true;
    if (m.kind === "system") {
      // A broker notice has no envelope and no signature: it is taken only under the broker's own
      // fixed sender and shown under its name, so it can never pass for a peer's words.
      const b = BROKER_SENDER;
      if (m.from.pubkey !== b.pubkey || m.from.memberPubkey !== b.pubkey || m.from.memberId !== b.memberId) return { ok: false, reason: "forged_notice", messageId: m.messageId };
      // Remembered by its clientMessageId (`expired-<messageId>`, §5.8), so that a redelivery after
      // a lost ack is dropped, but apart from the peers' replay memory: a broker sending thousands
      // of notices must not push real messages out of it and then replay them.
      if (this.noticeSeen(m.clientMessageId, record)) return { ok: false, reason: "replayed", messageId: m.messageId };
      return { ok: true, control: null, message: { ...this.delivered(m, JSON.stringify(m.notice ?? {})), from: { name: b.name, pubkey: b.pubkey, memberPubkey: b.pubkey, memberId: b.memberId } } };
    }
    // A connection is to one mesh: a push naming another was moved here by the broker. Refused
    // before opening, since the envelope checks its sealed mesh against the push's `meshId` only,
    // and a post under an epoch this mesh never had would otherwise wait for keys, unsaid.
    if (m.meshId !== this.id.meshId) return { ok: false, reason: "context_mismatch", messageId: m.messageId };
    const meshKeys = new Map(this.keys.map((k) => [k.epoch, fromBase64(k.key)]));
    const toMember = m.to === this.id.memberPubkey && this.id.memberPubkey !== this.id.publicKey;
    const r = openEnvelope(
      { nonce: m.nonce, ciphertext: m.ciphertext, meshId: m.meshId, fromPubkey: m.from.pubkey, to: m.to, fromMemberPubkey: m.from.memberPubkey },
      { mySecret: toMember ? this.id.memberSecretKey : this.id.secretKey, meshKeys },
      this.box,
    );
    if (!r.ok) return { ok: false, reason: r.reason, messageId: m.messageId };
    if (!routeMatchesTarget(m)) return { ok: false, reason: "context_mismatch", messageId: m.messageId };
    // Boxed by its sender key, which a session's attestation ties to its member key (openEnvelope):
    // what is left is whether that member key was enrolled. Marked, not refused: members enrolled
    // before brokers kept admission evidence cannot be traced either, and their words are theirs.
    const untraced = this.senders.unknown(m);
    if (untraced && !opts.sendersRead) return { ok: false, reason: "unknown_sender", messageId: m.messageId };
    if (this.repeated(r.inner.from, r.inner.id, record)) return { ok: false, reason: "replayed", messageId: m.messageId };
    const control = r.inner.kind === "keys" ? this.acceptKeys(r.inner, m) : r.inner.kind === "system" && isKeyRequest(r.inner.body) && m.kind === "direct" ? "key_request" : null;
    // Keys from anyone but the owner (or malformed) are dropped, never shown as a message; keys
    // from an owner session past its attestation are set aside as stale (askIfBehind).
    if (control === "stale") return { ok: false, reason: "keys_stale", messageId: m.messageId };
    if (r.inner.kind === "keys" && control === null) return { ok: false, reason: "keys_refused", messageId: m.messageId };
    // The question answered is the sender's word only: a replyTo the push alone carries would let
    // the broker make any message the answer to a waiting mesh_ask (protocol.md §11.1).
    return { ok: true, control, message: { ...this.delivered(m, r.inner.body), clientMessageId: r.inner.id, replyTo: r.inner.replyTo ?? null, ask: r.inner.kind === "ask", ...(untraced ? { untraced: true as const } : {}) } };
  }

  /** True for a (sender, id) pair already seen; with `record`, a new pair is remembered. */
  private repeated(sender: string, id: string, record: boolean): boolean {
    return record ? !this.replay.check(sender, id) : this.replay.has(sender, id);
  }

  /** Broker notices seen, by clientMessageId, oldest first (bounded: a forgotten one is at worst
   *  shown twice). */
  private readonly notices = new Set<string>();

  private noticeSeen(id: string, record: boolean): boolean {
    if (this.notices.has(id)) return true;
    if (record) {
      this.notices.add(id);
      if (this.notices.size > NOTICE_MEMORY) this.notices.delete(this.notices.values().next().value!);
    }
    return false;
  }

  /** Records a message opened with `record: false` as seen. */
  recordSeen(m: Pick<Delivered, "from" | "clientMessageId">): void {
    if (m.from.pubkey === BROKER_SENDER.pubkey) this.noticeSeen(m.clientMessageId, true);
    else this.replay.check(m.from.pubkey, m.clientMessageId);
  }

  /** Opens a message for display only (history): authenticity and context are checked, but the
   *  replay memory is neither consulted nor changed and key messages are not applied. */
  openForDisplay(m: MessagePushFrame): Opened {
    if (m.meshId !== this.id.meshId) return { ok: false, reason: "context_mismatch", messageId: m.messageId };
    const meshKeys = new Map(this.keys.map((k) => [k.epoch, fromBase64(k.key)]));
    const r = openEnvelope(
      { nonce: m.nonce, ciphertext: m.ciphertext, meshId: m.meshId, fromPubkey: m.from.pubkey, to: m.to, fromMemberPubkey: m.from.memberPubkey },
      { mySecret: this.id.secretKey, meshKeys },
      this.box,
    );
    if (!r.ok) return { ok: false, reason: r.reason, messageId: m.messageId };
    if (!routeMatchesTarget(m)) return { ok: false, reason: "context_mismatch", messageId: m.messageId };
    return { ok: true, control: null, message: { ...this.delivered(m, r.inner.body), replyTo: r.inner.replyTo ?? null } };
  }

  private delivered(m: MessagePushFrame, body: string): Delivered {
    return {
      messageId: m.messageId,
      meshId: m.meshId,
      kind: m.kind,
      from: { name: m.from.name, pubkey: m.from.pubkey, memberPubkey: m.from.memberPubkey, memberId: m.from.memberId },
      to: m.to,
      topic: sealedTopic(m.to),
      topicOffset: m.topicOffset ?? null,
      priority: m.priority,
      createdAt: m.createdAt,
      replyTo: m.replyTo ?? null,
      clientMessageId: m.clientMessageId,
      body,
      ask: false,
    };
  }

  /** Mesh keys are accepted only in a direct message from the owner's key (or one of its
   *  sessions): a member or a broker cannot hand out keys of its own. "stale": from an owner
   *  session whose attestation has expired by this clock, not applied. */
  private acceptKeys(inner: Inner, m: MessagePushFrame): "keys" | "stale" | null {
    if (m.kind !== "direct" || m.from.memberPubkey !== this.id.ownerPubkey) return null;
    // From one of the owner's sessions: only while its attestation is valid by this clock. The
    // envelope's check is against the time the sender wrote, which a leaked old session key could
    // set to anything; mesh keys are worth that stricter look (the owner's own key needs none).
    // An honest one read late (it waited in the mailbox past the attestation) is stale, not
    // forged: the reader asks the owner again rather than calling it a failed verification.
    if (inner.att && inner.att.expiresAt + KEYS_CLOCK_SKEW_MS < Date.now()) return "stale";
    let parsed: unknown;
    try {
      parsed = JSON.parse(inner.body);
    } catch {
      return null;
    }
    const keys = meshKeyList((parsed as { keys?: unknown })?.keys);
    if (!keys) return null;
    if (this.merge(keys)) this.onKeys(this.keys);
    return "keys";
  }

  /** Adds keys this identity's own config holds (written by another process, e.g. the CLI's
   *  `rekey`), without reporting them back through onKeys. */
  learnKeys(keys: readonly MeshKey[]): void {
    this.merge(keys);
  }

  /** Adds the epochs not held yet (mergeMeshKeys); true if any was. */
  private merge(keys: readonly MeshKey[]): boolean {
    const merged = mergeMeshKeys(this.keys, keys);
    if (merged) this.keys = merged;
    return merged !== null;
  }
}

/** A fresh mesh key for epoch `epoch`, as stored in config. */
export function makeMeshKey(epoch: number): MeshKey {
  return { epoch, key: toBase64(newMeshKey()) };
}

/** The body of a `keys` message: every epoch the recipient should hold. */
// Defined with the invite builder, which the dashboard page bundles without this module.
export { keysBody };
