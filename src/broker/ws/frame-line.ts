// A connection's line of frames waiting to be handled: in arrival order, bounded (a flood is
// closed), each one after the connection's frame allowance is out of debt (protocol.md §2.2) and
// its output below PAUSE_BYTES. ws/session.ts decides what a frame does; this, when it runs.
import { CloseCode } from "../../protocol/close-codes.ts";
import type { BrokerContext } from "../context.ts";
import { type Conn, connFields } from "../conn.ts";

type Handle = () => void | Promise<void>;
type Chained = Conn & { line?: Line; queuedFrames?: number; queuedChars?: number; paceLog?: { at: number; since: number } };

/** A paced connection is named in the log at most this often (the metric counts every pace). */
export const PACE_LOG_EVERY_MS = 60_000;

/** Frames, and characters of frame text, one connection may have waiting to be handled. A client
 *  that outruns the broker by more than this is flooding; it is closed rather than allowed to grow
 *  the broker's memory. The character bound matters because frames wait while an earlier request
 *  of the connection waits for the disk, and 4096 of the largest frames would be a gigabyte. */
const MAX_QUEUED_FRAMES = 4096;
const MAX_QUEUED_CHARS = 8 * 1024 * 1024;

/** Frames, and characters of frame text, a connection waiting out its frame allowance may have
 *  waiting before the broker stops reading its socket (Conn.unreadWhilePaced). Below it the socket
 *  is read during the wait, so that a client that goes away is let go at once, its presence, claims
 *  and slot with it: its FIN or close frame comes behind everything it sent, and a socket that is
 *  not read is not seen to close. Far below the flood bound above, leaving room for the read (up
 *  to 512 KiB) that crosses it; the frames read ahead are handled anyway, at the allowance's rate. */
export const READ_AHEAD_FRAMES = 256;
const READ_AHEAD_CHARS = 256 * 1024;

/** Queues a frame's handling behind the connection's earlier frames, unless too much is waiting. */
export function enqueue(ctx: BrokerContext, conn: Chained, chars: number, handle: Handle): void {
  // A client that does not read what it was sent: read no more of it (its frames wait in TCP).
  conn.congested();
  conn.queuedFrames = (conn.queuedFrames ?? 0) + 1;
  conn.queuedChars = (conn.queuedChars ?? 0) + chars;
  if (conn.queuedFrames > MAX_QUEUED_FRAMES || conn.queuedChars > MAX_QUEUED_CHARS) {
    conn.queuedFrames--;
    conn.queuedChars -= chars;
    ctx.metrics.messagesRejected.inc({ reason: "rate_limited", limit: "frames" });
    conn.send({ type: "error", code: "rate_limited", message: "Too many frames waiting; slow down.", retryable: true });
    conn.close(CloseCode.policy, "rate_limited", "too_many_queued_frames");
    return;
  }
  unreadIfReadAhead(conn);
  (conn.line ??= new Line(ctx, conn)).push(handle, chars);
}

/** A connection's frames waiting to be handled, oldest first. Each is handled in a microtask once
 *  the one before it is done (its handling returned, or the promise it returned settled), then
 *  counted out of queuedFrames and queuedChars. Its continuations are made once per connection:
 *  a frame (two per relayed message) costs no promise or closure of the line's own. */
class Line {
  private readonly handles: Handle[] = [];
  private readonly sizes: number[] = [];
  private busy = false;
  /** Set once a frame's handling threw (a bug: handlers answer their own errors). The frames
   *  behind it are counted out without being handled, and the error is left uncaught, which stops
   *  the broker (cli/serve-last-resort.ts). */
  private broken = false;

  constructor(
    private readonly ctx: BrokerContext,
    private readonly conn: Chained,
  ) {}

  push(handle: Handle, chars: number): void {
    this.handles.push(handle);
    this.sizes.push(chars);
    if (this.busy) return;
    this.busy = true;
    queueMicrotask(this.next);
  }

  private readonly next = (): void => {
    let handled: void | Promise<void>;
    try {
      handled = this.broken ? undefined : paced(this.ctx, this.conn, this.handles[0]!);
    } catch (err) {
      handled = Promise.reject(err);
    }
    if (handled) handled.then(this.done, this.failed);
    else this.done();
  };

  private readonly done = (): void => {
    this.handles.shift();
    this.conn.queuedFrames!--;
    this.conn.queuedChars! -= this.sizes.shift()!;
    if (this.handles.length > 0) queueMicrotask(this.next);
    else this.busy = false;
  };

  private readonly failed = (err: unknown): never => {
    this.broken = true;
    this.done();
    throw err;
  };
}

/** Stops reading a paced (or proving) connection whose frames waiting reached the read-ahead bound. */
function unreadIfReadAhead(conn: Chained): void {
  if (conn.queuedFrames! >= READ_AHEAD_FRAMES || conn.queuedChars! >= READ_AHEAD_CHARS) conn.unreadWhilePaced();
}

/** Handles a frame once the client showed it reads after a refused answer (Conn.provingRead), the
 *  connection's frame allowance is out of debt (protocol.md §2.2: until then the broker reads no
 *  more of its socket than READ_AHEAD_FRAMES), and its unsent output is below its mark (an answer
 *  is written only for a client that reads them: Conn.congested). */
function paced(ctx: BrokerContext, conn: Chained, handle: Handle): void | Promise<void> {
  if (conn.provingRead) return conn.proof().then(() => paced(ctx, conn, handle));
  const wait = conn.ready ? ctx.frameAllowance.waitMs(conn.id) : 0;
  if (wait > 0) return pace(ctx, conn, handle, wait);
  return conn.congested() ? conn.room().then(handle) : handle();
}

/** Holds the frame for `waitMs`, then paces it again. */
function pace(ctx: BrokerContext, conn: Chained, handle: Handle, waitMs: number): Promise<void> {
  ctx.metrics.connectionPaces.inc();
  notePace(ctx, conn, waitMs);
  const waited = conn.pace(waitMs);
  unreadIfReadAhead(conn);
  return waited.then(() => paced(ctx, conn, handle));
}

/** Names a paced connection in the log: its first pace, then at most one line per
 *  PACE_LOG_EVERY_MS, with the paces not logged since (a client asking in a loop is paced
 *  continually; the operator needs its name, not a line per pace). */
function notePace(ctx: BrokerContext, conn: Chained, waitMs: number): void {
  const now = ctx.now();
  const last = conn.paceLog;
  if (last && now >= last.at && now - last.at < PACE_LOG_EVERY_MS) return void last.since++;
  ctx.log.info("pacing connection", { ...connFields(conn), waitMs, requestRate: ctx.config.requestRate, requestBurst: ctx.config.requestBurst, notLoggedSinceLast: last?.since ?? 0 });
  conn.paceLog = { at: now, since: 0 };
}

