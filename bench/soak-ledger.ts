// The soak's delivery ledger (bench/soak.ts): for every send, which peers it is owed to and
// whether the broker acked it (its `result`), and for every push, which owed delivery it settles.
// A send leaves the ledger once it is acked and every recipient got it; what is left after the
// final drain is the loss: acked messages some recipient never received (protocol §5.5: an acked
// send is stored, and the broker delivers it until the recipient acks). Duplicates (at-least-once
// redeliveries) are counted, not lost.

type Entry = { seq: number; recipients: number; missing: Set<number>; acked: boolean };

export type LedgerTotals = {
  sends: number;
  /** Sends the broker answered with a `result` (stored and flushed). */
  acked: number;
  /** Sends the broker refused with an `error`: owed to nobody. */
  refused: number;
  /** Deliveries owed by acked sends. */
  owed: number;
  pushes: number;
  /** Pushes of a send to a peer that had already received it. */
  duplicates: number;
  /** Pushes the ledger knows nothing about (a refused send's, or not ours). */
  unknown: number;
};

export type Loss = {
  /** Acked sends some recipient never received. */
  messages: number;
  /** Their missing (send, recipient) deliveries. */
  deliveries: number;
  /** Up to 5 examples: the send's seq and the peers that never got it. */
  examples: { seq: number; missing: number[] }[];
  /** Sends never answered, neither acked nor refused: owed to nobody, reported apart. */
  unanswered: number;
};

export class DeliveryLedger {
  private readonly bySeq = new Map<number, Entry>();
  /** Request id → seq, until the answer arrives. */
  private readonly byRequest = new Map<number, number>();
  readonly totals: LedgerTotals = { sends: 0, acked: 0, refused: 0, owed: 0, pushes: 0, duplicates: 0, unknown: 0 };

  /** Send `seq` (request id `requestId`) went out, owed to `recipients` (peer indexes). */
  sent(seq: number, requestId: number, recipients: readonly number[]): void {
    this.bySeq.set(seq, { seq, recipients: recipients.length, missing: new Set(recipients), acked: false });
    this.byRequest.set(requestId, seq);
    this.totals.sends++;
  }

  /** The broker answered request `requestId`: `ok` for a result, false for an error. */
  answered(requestId: number, ok: boolean): void {
    const seq = this.byRequest.get(requestId);
    if (seq === undefined) return;
    this.byRequest.delete(requestId);
    const e = this.bySeq.get(seq)!;
    if (!ok) {
      this.totals.refused++;
      this.bySeq.delete(seq);
      return;
    }
    e.acked = true;
    this.totals.acked++;
    this.totals.owed += e.recipients;
    this.settle(e);
  }

  /** Peer `to` received send `seq`. */
  pushed(to: number, seq: number): void {
    this.totals.pushes++;
    const e = this.bySeq.get(seq);
    if (!e) {
      this.totals.unknown++;
      return;
    }
    if (!e.missing.delete(to)) {
      this.totals.duplicates++;
      return;
    }
    this.settle(e);
  }

  private settle(e: Entry): void {
    if (e.acked && e.missing.size === 0) this.bySeq.delete(e.seq);
  }

  /** Sends not yet settled: unanswered, or acked and owed to someone. */
  get open(): number {
    return this.bySeq.size;
  }

  /** What is owed and missing now (call after the final drain). */
  loss(): Loss {
    const out: Loss = { messages: 0, deliveries: 0, examples: [], unanswered: 0 };
    for (const e of this.bySeq.values()) {
      if (!e.acked) {
        out.unanswered++;
        continue;
      }
      out.messages++;
      out.deliveries += e.missing.size;
      if (out.examples.length < 5) out.examples.push({ seq: e.seq, missing: [...e.missing].slice(0, 10) });
    }
    return out;
  }
}
