// The broker's group commit: sends and acks that arrive during one turn of the event loop are
// written in one transaction (Batcher), so a busy broker pays one commit per turn, not one per
// write. Sends are urgent (their senders wait); an ack without an id may linger a few ms to share
// a later commit, and rides along with the next send's commit if one comes first.
import type { AckBatchItem, NewMessage, SendOutcome, Store, StoredMessage } from "../store/types.ts";
import { Batcher } from "./batcher.ts";
import { presenceKey } from "./hub.ts";

const sendKey = (meshId: string, senderPubkey: string, clientMessageId: string) => `${meshId}\u0000${senderPubkey}\u0000${clientMessageId}`;

/** What a send asks of its commit, both in commit order and synchronous with it, so that no
 *  other claim or push comes in between: `claim` picks, just before the transaction, the
 *  connection a recipient's new entry is claimed for (null leaves it to the pump); `committed`
 *  pushes what was claimed and wakes the rest. Neither may throw. */
export type SendHooks = { claim(recipient: string): string | null; committed(outcome: SendOutcome): void };

type SendWrite = { send: NewMessage; hooks: SendHooks; ack?: undefined };
type Write = SendWrite | { ack: AckBatchItem; send?: undefined };

/** Decides a send's claims. A mailbox left with an unclaimed entry earlier in the batch gets no
 *  claim either: that entry reaches its connection through the pump, after the commit, and a
 *  newer one pushed at once would overtake it (docs/protocol.md §5.5, Ordering). */
function claimAtCommit(w: SendWrite, unclaimed: Set<string>): void {
  const m = w.send;
  for (const r of m.recipients) {
    const key = presenceKey(m.meshId, r);
    const conn = unclaimed.has(key) ? null : w.hooks.claim(r);
    if (conn) m.claimFor.set(r, conn);
    else unclaimed.add(key);
  }
}

/** How long an ack without an id may wait for others to share its commit. Its messages stay
 *  claimed by the connection meanwhile, so nothing is redelivered unless that connection closes. */
export const ACK_LINGER_MS = 5;

export class GroupCommit {
  private readonly batcher: Batcher<Write, SendOutcome | number>;

  constructor(store: Store, opts: { topicHistory: number; now: () => number; onBatch: (writes: number) => void }) {
    this.batcher = new Batcher(
      async (writes) => {
        const sendWrites: SendWrite[] = [];
        const acks: AckBatchItem[] = [];
        const unclaimed = new Set<string>();
        for (const w of writes) {
          if (w.send) {
            claimAtCommit(w, unclaimed);
            sendWrites.push(w);
          } else acks.push(w.ack);
        }
        // The embedded store commits synchronously: no connection closes and no pump claims
        // between the claims above and the index update. The next batch waits for this function.
        const out = await store.commitWrites({ sends: sendWrites.map((w) => w.send), acks }, opts.topicHistory, opts.now());
        sendWrites.forEach((w, i) => w.hooks.committed(out.sends[i]!));
        let s = 0;
        let a = 0;
        return writes.map((w) => (w.send ? out.sends[s++]! : out.acks[a++]!));
      },
      { lingerMs: ACK_LINGER_MS, onBatch: opts.onBatch },
    );
  }

  /** Queue entries submitted and not yet committed, per mailbox (`meshId\0pubkey`). */
  private readonly uncommitted = new Map<string, number>();
  /** Sends submitted and not yet committed, by sender key and client message id. */
  private readonly inFlight = new Map<string, Promise<SendOutcome>>();

  /** Resolves once the message is committed (not yet flushed: see Store.commitWrites), after its
   *  hooks ran. */
  send(message: NewMessage, hooks: SendHooks): Promise<SendOutcome> {
    const keys = message.recipients.map((r) => presenceKey(message.meshId, r));
    for (const k of keys) this.uncommitted.set(k, (this.uncommitted.get(k) ?? 0) + 1);
    const id = sendKey(message.meshId, message.senderPubkey, message.clientMessageId);
    const committed = this.batcher.submit({ send: message, hooks }, true) as Promise<SendOutcome>;
    this.inFlight.set(id, committed);
    return committed.finally(() => {
      if (this.inFlight.get(id) === committed) this.inFlight.delete(id);
      for (const k of keys) {
        const n = this.uncommitted.get(k)! - 1;
        if (n > 0) this.uncommitted.set(k, n);
        else this.uncommitted.delete(k);
      }
    });
  }

  /** A retry that arrives while its original is still being committed: the original message once
   *  it is committed, or null if none is in flight or its commit failed (then the retry is a new
   *  send). Without this the retry was checked as a new send, and the rate limit or the quota,
   *  which the original had already used, refused it although the original was about to be stored. */
  async original(meshId: string, senderPubkey: string, clientMessageId: string): Promise<StoredMessage | null> {
    const committed = this.inFlight.get(sendKey(meshId, senderPubkey, clientMessageId));
    return committed ? committed.then((o) => o.message, () => null) : null;
  }

  /** Entries for this mailbox waiting in a group commit: a quota check counts them with the
   *  stored ones, or a burst landing in one batch would overshoot it. */
  uncommittedFor(meshId: string, pubkey: string): number {
    return this.uncommitted.get(presenceKey(meshId, pubkey)) ?? 0;
  }

  /** Resolves with the entries removed, once committed; `urgent` when someone waits on the answer. */
  ack(item: AckBatchItem, urgent: boolean): Promise<number> {
    return this.batcher.submit({ ack: item }, urgent) as Promise<number>;
  }

  /** Waits until everything submitted so far is committed (the shutdown drain). */
  drain(): Promise<void> {
    return this.batcher.drain();
  }
}
