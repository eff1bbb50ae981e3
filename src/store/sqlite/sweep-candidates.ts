// Which non-topic message rows the sweep may delete: those older than the de-duplication window
// that no mailbox holds any more. Messages enter in seq order (so in createdAt order) and the sweep
// consumes that list from its head as the window passes them; one a mailbox still holds then
// "lingers" until its last queue entry goes, when it is "freed". Each sweep batch does work in
// proportion to what it takes, never to the backlog: a batch looks at no more than `limit` new
// messages, and a lingering message is looked at again only once it is freed. (Walking every
// lingering message each batch took 82 ms per sweep with 500,000 queued for offline members, and
// the first walk past them 261 ms in one batch: bench/probe-sweep.ts.)

/** Which message rows a sweep deletes, and how the candidates move once that delete committed.
 *  `full`: the plan stopped at its limit, and another batch may find more. */
export type DeletionPlan = { seqs: number[]; nextHead: number; linger: [seq: number, createdAt: number][]; full: boolean };

export class SweepCandidates {
  /** Messages in seq order (parallel arrays), consumed from `head`. */
  private seqs: number[] = [];
  private createdAt: number[] = [];
  private head = 0;
  /** Messages past the window that a mailbox still held when the sweep reached them: seq →
   *  createdAt. */
  private readonly lingering = new Map<number, number>();
  /** Lingering messages whose last entry went since: what the sweep deletes first. */
  private readonly freed = new Set<number>();

  add(seq: number, createdAt: number): void {
    this.seqs.push(seq);
    this.createdAt.push(createdAt);
  }

  /** The message lost its last queue entry. */
  released(seq: number): void {
    if (this.lingering.has(seq)) this.freed.add(seq);
  }

  /** Messages created before `cutoff` that no mailbox holds (`held` says which still are; those in
   *  `emptying` lose their last entries in this sweep), at most `limit` of them, from at most
   *  `limit` messages looked at. Changes nothing until applied. */
  plan(cutoff: number, held: (seq: number) => boolean, emptying: ReadonlySet<number>, limit: number): DeletionPlan {
    const seqs: number[] = [];
    const linger: [number, number][] = [];
    const due = (seq: number) => this.lingering.get(seq)! < cutoff; // false only after the clock went back
    for (const seq of this.freed) {
      if (seqs.length >= limit) break;
      if (due(seq)) seqs.push(seq);
    }
    for (const seq of emptying) if (seqs.length < limit && this.lingering.has(seq) && !this.freed.has(seq) && due(seq)) seqs.push(seq);
    let i = this.head;
    for (; i < this.seqs.length && this.createdAt[i]! < cutoff && seqs.length + linger.length < limit; i++) {
      const seq = this.seqs[i]!;
      if (held(seq) && !emptying.has(seq)) linger.push([seq, this.createdAt[i]!]);
      else seqs.push(seq);
    }
    return { seqs, nextHead: i, linger, full: seqs.length + linger.length >= limit };
  }

  /** Applies a committed plan. `held` as for plan, after the sweep's own removals. */
  apply(plan: DeletionPlan, held: (seq: number) => boolean): void {
    for (const seq of plan.seqs) {
      this.lingering.delete(seq);
      this.freed.delete(seq);
    }
    for (const [seq, at] of plan.linger) {
      this.lingering.set(seq, at);
      if (!held(seq)) this.freed.add(seq);
    }
    this.head = plan.nextHead;
    if (this.head > 4096 && this.head * 2 > this.seqs.length) {
      this.seqs = this.seqs.slice(this.head);
      this.createdAt = this.createdAt.slice(this.head);
      this.head = 0;
    }
  }
}
