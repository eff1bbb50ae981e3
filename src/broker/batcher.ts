// Group commit: operations that arrive during one turn of the event loop are written in one
// transaction. Each caller's promise settles only after that transaction committed (or failed),
// so no acknowledgement can precede the commit it promises.
//
// A batcher may also wait up to `lingerMs` to gather a bigger batch, for writes nobody is waiting
// on (acks without an id): a commit costs tens of microseconds whatever its size. An urgent item,
// or a batch that reached `eagerAt` items, is written at the end of the turn as usual.

export type BatcherOptions = {
  /** Largest batch per transaction (bounds latency and transaction size). */
  maxBatch?: number;
  /** Called with each batch's size (a metric). */
  onBatch?: (size: number) => void;
  /** How long a non-urgent item may wait for company; 0 writes every turn. */
  lingerMs?: number;
  /** A lingering batch is written as soon as it holds this many items. */
  eagerAt?: number;
};

export class Batcher<In, Out> {
  private pending: { item: In; resolve: (o: Out) => void; reject: (e: unknown) => void }[] = [];
  private immediate = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running: Promise<void> = Promise.resolve();
  private readonly maxBatch: number;
  private readonly onBatch: (size: number) => void;
  private readonly lingerMs: number;
  private readonly eagerAt: number;

  /** @param flushFn writes a batch atomically and returns one result per item, in order. */
  constructor(
    private readonly flushFn: (items: In[]) => Promise<Out[]>,
    opts: BatcherOptions = {},
  ) {
    this.maxBatch = opts.maxBatch ?? 2048;
    this.onBatch = opts.onBatch ?? (() => {});
    this.lingerMs = opts.lingerMs ?? 0;
    this.eagerAt = opts.eagerAt ?? 256;
  }

  /** Queues an item for the next batch; `urgent` (someone waits on it) skips the linger. */
  submit(item: In, urgent = false): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (urgent || this.lingerMs <= 0 || this.pending.length >= this.eagerAt) this.flushSoon();
      else this.timer ??= setTimeout(() => this.flush(), this.lingerMs);
    });
  }

  /** Waits until everything submitted so far is written (used by the shutdown drain). */
  async drain(): Promise<void> {
    while (this.pending.length > 0 || this.immediate) await this.flush();
    await this.running;
  }

  private flushSoon(): void {
    if (this.immediate) return;
    this.immediate = true;
    setImmediate(() => this.flush());
  }

  private flush(): Promise<void> {
    this.immediate = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.length === 0) return this.running;
    const batch = this.pending.splice(0, this.maxBatch);
    if (this.pending.length > 0) this.flushSoon();
    // Batches commit one after another, in submission order.
    this.running = this.running.then(async () => {
      this.onBatch(batch.length);
      try {
        const out = await this.flushFn(batch.map((b) => b.item));
        batch.forEach((b, i) => b.resolve(out[i]!));
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    });
    return this.running;
  }
}
