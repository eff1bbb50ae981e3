// Fire-and-forget acks: those made in one tick go out together, as few frames as MAX_ACK_BATCH
// allows. A lost ack only means a redelivery, which the receiver drops by message id.
import { MAX_ACK_BATCH } from "../protocol/limits.ts";

export class AckBatch {
  private ids: string[] = [];

  /** @param send writes one ack frame's text, or drops it when the link is not open. */
  constructor(private readonly send: (frame: string) => void) {}

  add(ids: readonly string[]): void {
    if (this.ids.length === 0) queueMicrotask(() => this.flush());
    this.ids.push(...ids);
  }

  /** Sends what is buffered now (also before a close). */
  flush(): void {
    const ids = this.ids.splice(0);
    for (let i = 0; i < ids.length; i += MAX_ACK_BATCH) this.send(JSON.stringify({ type: "ack", messageIds: ids.slice(i, i + MAX_ACK_BATCH) }));
  }
}
