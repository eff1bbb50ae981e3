// Write coalescing. Outside uWS's own handlers every ws.send() is a write syscall, and on a busy
// broker most frames (results, pushes, events) are produced outside them, after a commit. A
// loopback or network write costs far more than building the frame, so frames for one socket
// produced during one turn of the event loop are queued and written together at the end of the
// turn (setImmediate), corked into one write. Order per socket is kept; a close writes what is
// queued first. Pushes pause while a socket is congested (delivery.ts); a socket that still
// exceeds Bun's backpressure limit is closed (server.ts) rather than left silently dropping frames.
import type { ServerWebSocket } from "bun";
import type { Transport } from "./transport.ts";

type Socket = ServerWebSocket<unknown>;

const OPEN = 1;

export class Outbox {
  private pending = new Map<Socket, { frames: string[]; bytes: number }>();
  private scheduled = false;

  /** @param onWritten called after a socket's queued frames were handed to it at the end of a
   *  turn. Queued bytes count against a socket's push budget, and a write the kernel takes at
   *  once frees that budget without a `drain` event: the broker resumes paused pushes here. */
  constructor(private readonly onWritten: (ws: Socket) => void = () => {}) {}

  /** The Transport of one socket, writing through this outbox. */
  transport(ws: Socket, remoteAddress: string): Transport {
    return {
      remoteAddress,
      send: (text) => {
        if (ws.readyState !== OPEN) return false;
        this.queue(ws, text);
        return true;
      },
      close: (code, reason) => {
        this.flush(ws);
        if (ws.readyState <= OPEN) ws.close(code, reason);
      },
      ping: (payload) => {
        if (ws.readyState === OPEN) ws.ping(payload);
      },
      pauseReading: (paused) => {
        if (ws.readyState !== OPEN) return;
        if (paused) ws.pause();
        else ws.resume();
      },
      buffered: () => (ws.readyState === OPEN ? ws.getBufferedAmount() + (this.pending.get(ws)?.bytes ?? 0) : 0),
    };
  }

  /** Writes everything queued, for every socket (the end of a turn). */
  flushAll = (): void => {
    this.scheduled = false;
    // Swapped, not cleared: onWritten may queue frames (a resumed pump) for the next turn.
    const written = this.pending;
    this.pending = new Map();
    for (const [ws, { frames }] of written) write(ws, frames);
    for (const ws of written.keys()) this.onWritten(ws);
  };

  private queue(ws: Socket, text: string): void {
    const queued = this.pending.get(ws);
    if (queued) {
      queued.frames.push(text);
      queued.bytes += text.length;
    } else this.pending.set(ws, { frames: [text], bytes: text.length });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushAll);
    }
  }

  private flush(ws: Socket): void {
    const queued = this.pending.get(ws);
    if (!queued) return;
    this.pending.delete(ws);
    write(ws, queued.frames);
  }
}

function write(ws: Socket, frames: string[]): void {
  if (ws.readyState !== OPEN) return;
  if (frames.length === 1) ws.send(frames[0]!);
  else
    ws.cork(() => {
      for (const f of frames) ws.send(f);
    });
}
