// Fire-and-forget acks: those made in one tick go out together, as few frames as MAX_ACK_BATCH
// allows. A lost ack only means a redelivery, which the receiver drops by message id.
import { MAX_ACK_BATCH } from "../protocol/limits.ts";

/** `ids` cut into the fewest ack frames' worth (MAX_ACK_BATCH each), in order. */
export function ackFrames(ids: readonly string[]): string[][] {
  const frames: string[][] = [];
  for (let i = 0; i < ids.length; i += MAX_ACK_BATCH) frames.push(ids.slice(i, i + MAX_ACK_BATCH));
  return frames;
}

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
    for (const messageIds of ackFrames(this.ids.splice(0))) this.send(JSON.stringify({ type: "ack", messageIds }));
  }
}
