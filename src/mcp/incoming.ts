// What one mesh's broker pushes to this session, until the model has provably seen it: each push
// opened, checked and kept pending (or handed to a mesh_ask waiting for it), pushes sealed under a
// key epoch not learnt yet kept until the keys come, and the key messages acted on. A message is
// acked to the broker only once seen (markSeen, or a reply settled as delivered).
import { failedVerification, type Delivered, type MeshSession } from "../client/mesh-session.ts";
import type { BrokerClient } from "../client/client.ts";
import type { MeshEntry } from "../client/local/config-file.ts";
import type { MessagePushFrame } from "../protocol/server-frames.ts";
import { PUSH_WINDOW } from "../protocol/limits.ts";
import type { Log } from "../log/log.ts";
import type { ConfigWrites } from "./config-writes.ts";
import type { SeenWriter } from "./seen-writer.ts";
import type { ReplyWaiters } from "./reply-waiters.ts";
import type { Pending } from "./mesh-link.ts";

/** Most messages kept waiting in memory per mesh. The broker pushes at most PUSH_WINDOW unacked
 *  messages to a connection and redelivers the same ones, oldest first, after a reconnect, so this
 *  is never reached with a broker that keeps the protocol; below the window, pushes past it would
 *  have stayed claimed by this connection and unread until the next reconnect. */
export const MAX_PENDING = PUSH_WINDOW;

export type IncomingDeps = {
  slug: string;
  /** How the tools name the mesh (MeshLink.label): what a pending message says it came through. */
  label: () => string;
  session: MeshSession;
  client: BrokerClient;
  seenWriter: SeenWriter;
  config: ConfigWrites;
  replies: ReplyWaiters<Pending>;
  /** Takes in the keys the config on disk holds; returns the entry read. */
  refreshKeys: () => MeshEntry | undefined;
  /** Rings for a new pending message (the doorbell, waiting hooks). */
  onMessage: (m: Pending) => void;
  log: Log;
};

export class Incoming {
  /** Unread, by message id, oldest first. */
  readonly pending = new Map<string, Pending>();
  /** Pushes sealed under a key epoch this server has not learnt yet (the rotation's `keys` message
   *  may come after them), by message id. The broker counts them as pushed to this connection, so
   *  they are kept and opened once keys arrive, not left unread until the next reconnect. */
  private readonly sealed = new Map<string, MessagePushFrame>();
  /** Direct messages from a member key not known to be enrolled, waiting for the member list
   *  (MeshSession.learnSenders), oldest first; whether each rings when opened. */
  private readonly unplaced = new Map<string, { m: MessagePushFrame; ring: boolean }>();
  private learning: Promise<void> | null = null;
  /** Key requests this owner could not answer, by message id: neither recorded nor acked, so the
   *  broker pushes them again after a reconnect (answerKeyRequest). */
  private readonly unanswered = new Map<string, Delivered>();
  /** Key requests being answered now, by message id. */
  private readonly answering = new Set<string>();
  /** Pushes received since start (MeshLink.ready waits for the first of an announced backlog). */
  arrived = 0;
  /** Pushes dropped because they failed verification (failedVerification), since start. A repeat
   *  is not counted: an honest redelivery after a lost ack is one too. */
  refusedTotal = 0;
  /** How far into refusedTotal the model was told (by mesh_inbox, or a hook: refusalsSaid). */
  private refusedTold = 0;

  constructor(private readonly d: IncomingDeps) {}

  /** How many messages this session holds unread (pending, still sealed, or waiting for the
   *  member list). */
  get held(): number {
    return this.pending.size + this.sealed.size + this.unplaced.size;
  }

  /** How many pushes wait for a mesh key this server does not have yet. */
  get waitingForKeys(): number {
    return this.sealed.size;
  }

  /** Whether it holds unread a message addressed to `key` alone (a direct message to this
   *  session's key, or the broker's notice to it): one no other mailbox has a copy of. */
  holdsOwn(key: string): boolean {
    for (const m of [...this.pending.values(), ...this.sealed.values()]) if (m.to === key || m.kind === "system") return true;
    return false;
  }

  /** `ring`: false for a message fetched by an explicit read, which the caller shows at once.
   *  `sendersRead`: the member list was read since it arrived (learnSenders). */
  receive(m: MessagePushFrame, ring = true, sendersRead = false): void {
    const { session, log, slug } = this.d;
    if (!sendersRead) this.arrived++;
    // A message came through: the broker answers again, so what it failed to answer may now go.
    if (this.unanswered.size) this.retryKeyRequests();
    // Recorded in the replay memory only once seen (markSeen): a message opened here but never
    // shown must not look like a replay when the broker redelivers it after a restart.
    let r = session.open(m, { record: false, sendersRead });
    // Sealed under an epoch this server has not seen: the CLI may have saved it since it started.
    if (!r.ok && r.reason === "unknown_epoch") {
      this.d.refreshKeys();
      r = session.open(m, { record: false, sendersRead });
    }
    if (!r.ok && r.reason === "unknown_sender") {
      if (this.unplaced.size < MAX_PENDING) this.unplaced.set(m.messageId, { m, ring });
      this.learnSenders();
      return;
    }
    if (!r.ok) {
      if (r.reason !== "unknown_epoch") this.d.client.ackMessages([m.messageId]);
      else if (this.sealed.size < MAX_PENDING) this.sealed.set(m.messageId, m); // opened when keys arrive
      // A stale keys message (an owner session's, read after its attestation) is no sign of a
      // tampering broker (failedVerification): the owner is asked again when this member is behind.
      const failed = failedVerification(r.reason);
      if (failed) this.refusedTotal++;
      log[failed ? "warn" : "info"]("message not shown", { mesh: slug, messageId: m.messageId, reason: r.reason });
      if (r.reason === "keys_stale") void this.askForKeys();
      return;
    }
    if (r.control === "keys") {
      // Used at once, but recorded as seen and acked only once the config holds the keys: acked
      // with them unsaved, the message would be gone and a restart would lack the keys. A save
      // that fails leaves it unacked, and unrecorded so that its redelivery is saved again rather
      // than dropped as a replay.
      const { message } = r;
      void this.d.config.saveKeys(session.meshKeys).then((saved) => saved && this.d.seenWriter.record([message], [m.messageId]));
      return this.reopenSealed();
    }
    if (r.control === "key_request") return this.answerKeyRequest(m.messageId, r.message);
    const p: Pending = { ...r.message, mesh: this.d.label() };
    // Handed to the asking tool call, not acked yet: the call settles it (settleReply) once it
    // knows whether its result reaches the model (a cancelled call's result is dropped). Not one
    // already pending (redelivered after a reconnect): mesh_inbox and the hooks would show it too.
    if (!this.pending.has(p.messageId) && this.d.replies.take(p)) return;
    this.enqueue(p, ring);
  }

  /** Answers a member's key request if this is the owner's session: once for the requests of one
   *  member (KeyAnswers), recorded and acked once answered (or refused, or covered). One that
   *  could not be answered (the requester's rows did not come, the send failed) is neither: it
   *  stays this connection's, and is tried again (retryKeyRequests), as the CLI owner's next
   *  `inbox` answers it. One try at a time per request. */
  private answerKeyRequest(id: string, request: Delivered): void {
    if (this.answering.has(id)) return;
    this.answering.add(id);
    this.unanswered.delete(id);
    const { session, client, log, slug } = this.d;
    void Promise.resolve()
      .then(() => session.keyAnswers.answer(session, client, request, this.d.refreshKeys()?.removed))
      .then(
        (outcome) => {
          log.info(outcome === "covered" ? "key request already answered" : "key request answered", { mesh: slug, from: request.from.pubkey, outcome });
          // Recorded only now: a redelivery of one not answered must not be dropped as a replay.
          this.d.seenWriter.record([request], [id]);
        },
        (err: unknown) => {
          this.unanswered.set(id, request);
          log.warn("key request not answered: tried again at the next message, mesh_inbox or reconnect", { mesh: slug, from: request.from.pubkey, err });
        },
      )
      .finally(() => this.answering.delete(id));
  }

  /** Tries again the key requests this owner could not answer. Called when a message arrives and
   *  at mesh_inbox, never by a timer: a broker that keeps failing is not asked in a loop. After a
   *  reconnect the broker pushes them again itself (they were not acked). */
  retryKeyRequests(): void {
    for (const [id, request] of [...this.unanswered]) this.answerKeyRequest(id, request);
  }

  /** Asks the owner for the mesh keys again if this member is behind the mesh's epoch. */
  private async askForKeys(): Promise<void> {
    const { session, client, log, slug } = this.d;
    const asked = await session.askIfBehind(client).catch(() => false);
    if (asked) log.info("asked the mesh owner for the mesh keys again", { mesh: slug });
  }

  /** Refusals the model was not told of yet. */
  get refused(): number {
    return this.refusedTotal - this.refusedTold;
  }

  /** The model was told of the refusals counted up to `through` (a value refusedTotal had): those
   *  counted since are still to be told, whatever was told in between. */
  refusalsSaid(through: number): void {
    this.refusedTold = Math.max(this.refusedTold, Math.min(through, this.refusedTotal));
  }

  /** Reads the member list for the direct messages waiting on it, then opens them again: those
   *  from a key it does not trace to the owner are refused (`untraced_sender`). One read at a
   *  time; messages that arrive meanwhile wait for the next. A failed read leaves them waiting for
   *  the next direct message (or the reconnect's redelivery). */
  private learnSenders(): void {
    if (this.learning) return;
    const { session, client, log, slug } = this.d;
    const waiting = [...this.unplaced.values()];
    this.learning = session
      .learnSenders(client, waiting.map((w) => w.m))
      .then(
        () => {
          for (const w of waiting) {
            this.unplaced.delete(w.m.messageId);
            this.receive(w.m, w.ring, true);
          }
          return true;
        },
        (err: unknown) => (log.warn("member list not read: direct messages from members not checked yet wait", { mesh: slug, err }), false),
      )
      .then((read) => {
        this.learning = null;
        if (read && this.unplaced.size > 0) this.learnSenders();
      });
  }

  /** Opens again the pushes that were sealed under an epoch unknown when they arrived. */
  reopenSealed(): void {
    const held = [...this.sealed.values()];
    this.sealed.clear();
    for (const m of held) this.receive(m);
  }

  /** Keeps `p` pending until seen, and rings the doorbell (with `ring`). */
  enqueue(p: Pending, ring = true): void {
    // Redelivered after a reconnect while still unread: the broker's only copy, acked once seen.
    if (this.pending.has(p.messageId)) return;
    if (this.pending.size >= MAX_PENDING) return; // stays claimed; redelivered on reconnect
    // The same message stored twice by the broker (a retried send it did not recognise) is shown
    // once: the other copy is done.
    if ([...this.pending.values()].some((x) => x.from.pubkey === p.from.pubkey && x.clientMessageId === p.clientMessageId)) return this.d.client.ackMessages([p.messageId]);
    this.pending.set(p.messageId, p);
    if (ring) this.d.onMessage(p);
  }

  /** Marks messages seen: records them in the replay memory and removes them; they are acked
   *  once the replay file holds them (within REPLAY_FLUSH_MS, seen-writer.ts). */
  markSeen(ids: readonly string[]): void {
    const mine = ids.map((id) => this.pending.get(id)).filter((m): m is Pending => m !== undefined);
    if (mine.length === 0) return;
    for (const m of mine) this.pending.delete(m.messageId);
    this.d.seenWriter.record(mine, mine.map((m) => m.messageId));
  }
}
