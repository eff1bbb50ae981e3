// Group commit: operations that arrive during one turn of the event loop are written in one
// transaction. Each caller's promise settles only after that transaction committed (or failed),
// so no acknowledgement can precede the commit it promises.

export class Batcher<In, Out> {
  private pending: { item: In; resolve: (o: Out) => void; reject: (e: unknown) => void }[] = [];
  private scheduled = false;
  private running: Promise<void> = Promise.resolve();

  /**
   * @param flushFn writes a batch atomically and returns one result per item, in order.
   * @param maxBatch largest batch per transaction (bounds latency and transaction size).
   */
  constructor(
    private readonly flushFn: (items: In[]) => Promise<Out[]>,
    private readonly maxBatch = 2048,
    private readonly onBatch: (size: number) => void = () => {},
  ) {}

  submit(item: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Waits until everything submitted so far is written (used by the shutdown drain). */
  async drain(): Promise<void> {
    while (this.pending.length > 0 || this.scheduled) await this.flush();
    await this.running;
  }

  private flush(): Promise<void> {
    this.scheduled = false;
    if (this.pending.length === 0) return this.running;
    const batch = this.pending.splice(0, this.maxBatch);
    if (this.pending.length > 0 && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
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

  get queued(): number {
    return this.pending.length;
  }
}
