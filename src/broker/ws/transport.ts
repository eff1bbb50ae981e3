// The hub's view of a socket: write, close, read-only info. The hub never touches a WebSocket,
// so a tiny fake drives its unit tests.

export interface Transport {
  /** Queues a text frame. Frames to one transport are delivered in the order sent. Returns false
   *  when the socket is already closed (the frame is dropped; delivery state stays in the queue). */
  send(text: string): boolean;
  /** Closes with a WebSocket close code and a reason (≤ 123 bytes). Idempotent. */
  close(code: number, reason: string): void;
  /** Sends a WebSocket ping carrying `payload` (≤ 125 bytes); a pong echoing it marks the
   *  connection alive. */
  ping(payload: string): void;
  /** Stops (true) or resumes (false) reading the socket: the client then sees TCP backpressure.
   *  Frames already read are still delivered; a FIN is not noticed while paused (liveness is). */
  pauseReading(paused: boolean): void;
  /** Bytes queued or written but not yet taken by the kernel (a client reading slowly). */
  buffered(): number;
  /** Client address after trusted-proxy resolution. */
  readonly remoteAddress: string;
}
