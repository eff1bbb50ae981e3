// The broker's group commit: sends and acks that arrive during one turn of the event loop are
// written in one transaction (Batcher), so a busy broker pays one commit per turn, not one per
// write. Sends are urgent (their senders wait); an ack without an id may linger a few ms to share
// a later commit, and rides along with the next send's commit if one comes first. A batch that
// meets another process's write lock waits for it, in place (lock-wait.ts).
import { StoreLocked } from "../store/errors.ts";
import type { AckBatchItem, AckCount, NewMessage, SendOutcome, Sent, Store } from "../store/types.ts";
import { Batcher } from "./batcher.ts";
import { presenceKey } from "./hub.ts";
import { KeyTable } from "../key-table.ts";
import { LockWait } from "./lock-wait.ts";

const sendKey = (meshId: string, senderPubkey: string, clientMessageId: string) => `${meshId}\u0000${senderPubkey}\u0000${clientMessageId}`;

/** What a send asks of its commit, both in commit order and synchronous with it, so that no
 *  other claim or wake comes in between: `claim` picks, just before the transaction, the
 *  connection a recipient's new entry is claimed for (null leaves it to the pump); `committed`
 *  wakes the rest at once and pushes what was claimed once the commit is flushed (router.ts).
 *  `unclaim` gives back every claim made for a transaction that did not happen (a lock): the next
 *  try claims afresh. `forNextSession` says, at the same moment, whether a recipient's entry is
 *  marked for its member's next session (NewMessage.forNextSession). None may throw. */
export type SendHooks = { claim(recipient: string): string | null; forNextSession(recipient: string): boolean; unclaim(): void; committed(outcome: SendOutcome): void };

/** `at`: when it was submitted (performance.now()), for how long it may wait for a lock. */
type SendWrite = { send: NewMessage; hooks: SendHooks; at: number; ack?: undefined };
type Write = SendWrite | { ack: AckBatchItem; at: number; send?: undefined };

/** Decides a send's claims and marks. A mailbox left with an unclaimed entry earlier in the batch gets no
 *  claim either: that entry reaches its connection through the pump, after the commit, and a
 *  newer one pushed at once would overtake it (docs/protocol.md §5.5, Ordering). */
function claimAtCommit(w: SendWrite, unclaimed: Set<string>): void {
  const m = w.send;
  for (const r of m.recipients) {
    const key = presenceKey(m.meshId, r);
    const conn = unclaimed.has(key) ? null : w.hooks.claim(r);
    if (conn) m.claimFor.set(r, conn);
    else unclaimed.add(key);
    if (w.hooks.forNextSession(r)) m.forNextSession.add(r);
  }
}

/** How long an ack without an id may wait for others to share its commit. Its messages stay
 *  claimed by the connection meanwhile, so nothing is redelivered unless that connection closes. */
export const ACK_LINGER_MS = 5;

export class GroupCommit {
  private readonly batcher: Batcher<Write, SendOutcome | AckCount>;
  private readonly lock: LockWait;

  constructor(
    private readonly store: Store,
    private readonly opts: { topicHistory: number; now: () => number; onBatch: (writes: number) => void },
  ) {
    this.lock = new LockWait();
    this.batcher = new Batcher((writes) => this.commit(writes), { lingerMs: ACK_LINGER_MS, onBatch: opts.onBatch });
  }

  /** Commits one batch, in one transaction. While another process holds the write lock the batch
   *  is tried again after a delay, with the writes behind it waiting their turn (so order holds and
   *  nothing is answered before its commit); after LOCK_WAIT_MS it is refused with the store's
   *  StoreLocked, as a failed commit is. */
  private async commit(writes: Write[]): Promise<(SendOutcome | AckCount)[]> {
    const arrivedAt = writes[0]!.at; // the Batcher hands writes over in arrival order
    for (let tries = 0; ; tries++) {
      const sendWrites: SendWrite[] = [];
      const acks: AckBatchItem[] = [];
      const unclaimed = new Set<string>();
      for (const w of writes) {
        if (w.send) {
          claimAtCommit(w, unclaimed);
          sendWrites.push(w);
        } else acks.push(w.ack);
      }
      let out: Awaited<ReturnType<Store["commitWrites"]>>;
      try {
        // The embedded store commits synchronously: no connection closes and no pump claims
        // between the claims above and the index update. The next batch waits for this function.
        out = await this.store.commitWrites({ sends: sendWrites.map((w) => w.send), acks }, this.opts.topicHistory, this.opts.now());
      } catch (err) {
        if (!(err instanceof StoreLocked)) throw err;
        for (const w of sendWrites) {
          w.hooks.unclaim();
          w.send.claimFor.clear();
          w.send.forNextSession.clear();
        }
        const delayMs = this.lock.met(arrivedAt, tries);
        if (delayMs === null) throw err;
        await Bun.sleep(delayMs);
        continue;
      }
      sendWrites.forEach((w, i) => w.hooks.committed(out.sends[i]!));
      let s = 0;
      let a = 0;
      return writes.map((w) => (w.send ? out.sends[s++]! : out.acks[a++]!));
    }
  }

  /** Queue entries submitted and not yet committed, per mailbox (`meshId\0pubkey`), per mesh and
   *  in all: the quota checks count them with the stored ones. */
  private readonly uncommitted = new KeyTable<number>();
  private readonly uncommittedMeshes = new KeyTable<number>();
  private uncommittedEntries = 0;
  /** Sends submitted and not yet committed, by sender key and client message id. */
  private readonly inFlight = new KeyTable<Promise<SendOutcome>>();

  /** Resolves once the message is committed (not yet flushed: see Store.commitWrites), after its
   *  hooks ran; rejects if the commit failed, StoreLocked if another process's lock outlasted
   *  LOCK_WAIT_MS. */
  send(message: NewMessage, hooks: SendHooks): Promise<SendOutcome> {
    const keys = message.recipients.map((r) => presenceKey(message.meshId, r));
    for (const k of keys) this.uncommitted.set(k, (this.uncommitted.get(k) ?? 0) + 1);
    const entries = keys.length;
    this.uncommittedEntries += entries;
    this.uncommittedMeshes.set(message.meshId, (this.uncommittedMeshes.get(message.meshId) ?? 0) + entries);
    const id = sendKey(message.meshId, message.senderPubkey, message.clientMessageId);
    const committed = this.batcher.submit({ send: message, hooks, at: performance.now() }, true) as Promise<SendOutcome>;
    this.inFlight.set(id, committed);
    return committed.finally(() => {
      if (this.inFlight.get(id) === committed) this.inFlight.delete(id);
      for (const k of keys) {
        const n = this.uncommitted.get(k)! - 1;
        if (n > 0) this.uncommitted.set(k, n);
        else this.uncommitted.delete(k);
      }
      this.uncommittedEntries -= entries;
      const inMesh = this.uncommittedMeshes.get(message.meshId)! - entries;
      if (inMesh > 0) this.uncommittedMeshes.set(message.meshId, inMesh);
      else this.uncommittedMeshes.delete(message.meshId);
    });
  }

  /** A retry that arrives while its original is still being committed: the original message and
   *  the mailboxes it skipped once it is committed, or null if none is in flight or its commit
   *  failed (then the retry is a new send). Without this the retry was checked as a new send, and
   *  the rate limit or the quota, which the original had already used, refused it although the
   *  original was about to be stored. */
  async original(meshId: string, senderPubkey: string, clientMessageId: string): Promise<Sent | null> {
    const committed = this.inFlight.get(sendKey(meshId, senderPubkey, clientMessageId));
    return committed ? committed.then((o) => ({ message: o.message, undeliverable: o.undeliverable }), () => null) : null;
  }

  /** Entries for this mailbox waiting in a group commit: a quota check counts them with the
   *  stored ones, or a burst landing in one batch would overshoot it. */
  uncommittedFor(meshId: string, pubkey: string): number {
    return this.uncommitted.get(presenceKey(meshId, pubkey)) ?? 0;
  }

  /** Entries waiting in a group commit for the mesh's mailboxes, or (without a mesh) for all. */
  uncommittedIn(meshId?: string): number {
    return meshId === undefined ? this.uncommittedEntries : (this.uncommittedMeshes.get(meshId) ?? 0);
  }

  /** Resolves with the entries removed (and how many of them were notices), once committed;
   *  `urgent` when someone waits on the answer. */
  ack(item: AckBatchItem, urgent: boolean): Promise<AckCount> {
    return this.batcher.submit({ ack: item, at: performance.now() }, urgent) as Promise<AckCount>;
  }

  /** Resolves once every write submitted before it is committed: an urgent empty write behind
   *  them, as batches commit in submission order (an ack without an id may be lingering). For what
   *  must see a connection's earlier acks: ending a session gives back what it finds unacked. */
  async barrier(): Promise<void> {
    await this.batcher.submit({ ack: { meshId: "", mailbox: "", messageIds: [] }, at: performance.now() }, true);
  }

  /** Waits until everything submitted so far is committed (the shutdown drain). */
  drain(): Promise<void> {
    return this.batcher.drain();
  }
}
