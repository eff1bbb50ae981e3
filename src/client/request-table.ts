// The requests of one BrokerClient (client.ts) from asking to answer. Guarantees:
// - every request settles once: with its result, the broker's error, `unavailable` or `timeout`;
// - while the connection is not open, requests wait in a bounded queue (overflow rejects at once)
//   and go out in order once it is (flush);
// - requests in flight when the socket drops that are safe to send again wait there again when a
//   reconnect follows: a `send` (the broker de-duplicates it by clientMessageId), a read and an
//   ack (REQUEST_EFFECT, docs/protocol.md §10). The bound counts them from the moment they are
//   accepted. A change in flight rejects with `unavailable`: it may or may not have taken effect,
//   and only its caller knows whether doing it twice is harmless;
// - a `send` the broker answers with `unavailable` (draining, a database it cannot write or flush:
//   the outcome is unknown, docs/protocol.md §5.4) is sent again with the same clientMessageId
//   after SEND_RETRY_MS, or on the next connection, until its timeout or `unavailableRetryMs`,
//   which then rejects with that `unavailable`.
import { byteLength } from "../protocol/codec.ts";
import { MeshError, errorFromWire } from "../protocol/errors.ts";
import { REQUEST_EFFECT, type ClientFrameOf, type RequestType } from "../protocol/frames.ts";
import type { Results } from "../protocol/results.ts";
import type { ServerFrame } from "../protocol/server-frames.ts";
import { requestFailed } from "./request-labels.ts";
import { resultFault } from "../protocol/result-schemas.ts";
import { GoingAwayError, malformedAnswer, olderBroker } from "./broker-trouble.ts";
import { SendError } from "./send-error.ts";
import type { ClientOptions } from "./client-options.ts";
import { awakeTimeout } from "./wake.ts";

type Pending = {
  frame: Record<string, unknown>;
  resolve: (v: any) => void;
  reject: (e: MeshError) => void;
  /** Its timeout, counting only time the process ran (awakeTimeout). */
  timer: { clear(): void };
  /** The broker's last `unavailable` for this send, reported if the retries run out of time. */
  unavailable?: MeshError;
  /** When the broker first answered this send `unavailable` (Date.now()). */
  /** When the broker first said `unavailable` to it (performance.now()). */
  unavailableSince?: number;
};

/** A reply to a request: a result, or an error naming the request's id. */
type Reply = Extract<ServerFrame, { type: "result" | "error" }>;

/** The connection as the table sees it: whether a frame can go out now, sending one, the
 *  largest frame its broker said it takes (hello_ack.limits.maxFrameBytes; undefined before), and
 *  the broker's base URL as errors name it. */
type Wire = { open(): boolean; write(text: string): void; maxFrameBytes(): number | undefined; base(): string };

/** Wait before sending again a `send` the broker answered with `unavailable`. */
const SEND_RETRY_MS = 1000;

export class RequestTable {
  private nextId = 1;
  /** Sent and awaiting their reply, by id. */
  private readonly inFlight = new Map<string, Pending>();
  /** How many of inFlight a drop would queue again (resendable), kept as they come and go. */
  private resendableInFlight = 0;
  /** Waiting for the connection (or for a send's retry), oldest first. */
  private readonly queued: Pending[] = [];

  constructor(
    private readonly wire: Wire,
    private readonly opts: Pick<ClientOptions, "maxQueued" | "unavailableRetryMs">,
  ) {}

  /** Sends a request, or queues it until the connection is open, and resolves with its result
   *  data; rejects with `timeout` after `timeoutMs`. A `send` rejects with a SendError, which
   *  names the clientMessageId to retry with. */
  add<T extends RequestType | "ack">(type: T, payload: Omit<ClientFrameOf<T>, "type" | "id">, timeoutMs: number): Promise<Results[T]> {
    const tooLarge = this.oversized(type, payload);
    if (tooLarge) return Promise.reject(tooLarge);
    return new Promise((resolve, settleReject) => {
      // A send's error names its clientMessageId: the caller retries with it (SendError).
      const cmid = type === "send" ? (payload as unknown as ClientFrameOf<"send">).clientMessageId : null;
      const reject = (e: MeshError) => settleReject(cmid === null ? e : new SendError(e, cmid));
      const id = String(this.nextId++);
      const timer = awakeTimeout(() => {
        this.landed(id);
        this.unqueue(p);
        reject(p.unavailable ?? new MeshError("timeout", requestFailed(type, `no reply from the broker within ${timeoutMs / 1000} s.`)));
      }, timeoutMs);
      const p: Pending = { frame: { type, id, ...payload }, resolve, reject, timer };
      // Requests awaiting a reply that a drop would queue again count too, so the bound holds
      // only if they were counted when accepted.
      const max = this.opts.maxQueued ?? 1000;
      const open = this.wire.open();
      if ((!open || resendable(type)) && this.backlog() >= max) {
        return this.settle(p, new MeshError("unavailable", open ? `${max} requests already await the broker's reply; retry once some are answered.` : "Not connected and the outbound queue is full."));
      }
      this.transmit(p);
    });
  }

  /** A request larger than the broker said it takes (its operator may set maxFrameBytes below the
   *  protocol's 64 KiB), refused before it is sent: the broker's frame_too_large carries no request
   *  id, so the request waited out its timeout and was called possibly stored, and one over four
   *  times the limit closed the connection (1009), which the send then reopened to send again.
   *  Null when it fits or no hello_ack came yet. */
  private oversized(type: string, payload: object): MeshError | null {
    const max = this.wire.maxFrameBytes();
    if (max === undefined) return null;
    const bytes = byteLength(JSON.stringify({ type, id: "000000000000", ...payload }));
    if (bytes <= max) return null;
    return new MeshError("frame_too_large", `This ${type} is ${bytes} bytes as a frame, and the broker takes at most ${max} (its maxFrameBytes); nothing was sent. Send a shorter message.`);
  }

  /** The connection is open (a hello_ack): sends what waited, in order. */
  flush(): void {
    for (const p of this.queued.splice(0)) this.transmit(p);
  }

  /** Settles the request `f` answers; a reply to none (one that timed out, an error frame
   *  without an id) is ignored. A result is checked against its request's schema first
   *  (result-schemas.ts): one of another shape rejects with a MalformedAnswerError, so that past
   *  here every answer has its results.ts type. */
  answer(f: Reply): void {
    const p = f.id === undefined ? undefined : this.landed(String(f.id));
    if (!p) return;
    if (f.type === "result") {
      p.timer.clear();
      const type = p.frame.type as RequestType | "ack";
      const fault = resultFault(type, f.data);
      return fault === null ? p.resolve(f.data) : p.reject(malformedAnswer(this.wire.base(), type, fault));
    }
    const err = olderBroker(this.wire.base(), errorFromWire(f));
    if (err.code === "unavailable" && p.frame.type === "send") return this.retryLater(p, err);
    this.settle(p, err);
  }

  /** The socket closed. `resend` (a reconnect follows): requests in flight that are safe to send
   *  again wait in the queue again; every other one rejects with `unavailable`, saying whether it
   *  may have taken effect. `goingAwayFrom`: the broker (its base URL) closed with 1001, saying
   *  it is shutting down or restarting, which the error then says too. */
  dropped(resend: boolean, goingAwayFrom?: string): void {
    for (const p of this.inFlight.values()) {
      const type = p.frame.type as RequestType | "ack";
      if (resend && resendable(type)) this.queued.push(p);
      else this.settle(p, droppedError(type, goingAwayFrom));
    }
    this.inFlight.clear();
    this.resendableInFlight = 0;
  }

  /** Rejects every request, in flight then queued, with `err`: the client is closed for good. */
  rejectAll(err: MeshError): void {
    for (const p of [...this.inFlight.values(), ...this.queued.splice(0)]) this.settle(p, err);
    this.inFlight.clear();
    this.resendableInFlight = 0;
  }

  /** Rejects `p` and stops its timer (a settled request's timer would keep the process alive). */
  private settle(p: Pending, err: MeshError): void {
    p.timer.clear();
    p.reject(err);
  }

  /** Sends `p` (a `send`) again after SEND_RETRY_MS, or with the queue on the next hello_ack;
   *  rejects it with `err` once the broker has said `unavailable` for unavailableRetryMs. */
  private retryLater(p: Pending, err: MeshError): void {
    // Monotonic: a wall clock stepped forward an hour ended the budget at the next answer.
    const since = (p.unavailableSince ??= performance.now());
    const bound = this.opts.unavailableRetryMs;
    if (bound !== undefined && performance.now() - since >= bound) {
      return this.settle(p, new MeshError("unavailable", `${err.message.replace(/[.;]\s*$/, "")} (still so after ${Math.round((performance.now() - since) / 1000)} s of retries).`, { cause: err }));
    }
    p.unavailable = err;
    this.queued.push(p);
    const t = setTimeout(() => {
      // Timed out, sent by a reconnect, or waiting for one.
      if (!this.wire.open() || !this.unqueue(p)) return;
      this.transmit(p);
    }, SEND_RETRY_MS);
    (t as { unref?: () => void }).unref?.(); // the request's own timer keeps the process alive
  }

  /** Takes `p` out of the queue; false if it was not there. */
  private unqueue(p: Pending): boolean {
    const i = this.queued.indexOf(p);
    if (i >= 0) this.queued.splice(i, 1);
    return i >= 0;
  }

  private transmit(p: Pending): void {
    if (!this.wire.open()) {
      this.queued.push(p);
      return;
    }
    this.inFlight.set(String(p.frame.id), p);
    if (resendable(p.frame.type as RequestType | "ack")) this.resendableInFlight++;
    this.wire.write(JSON.stringify(p.frame));
  }

  /** What the queue would hold after a drop: the queue plus the requests awaiting a reply that a
   *  drop would queue again. */
  private backlog(): number {
    return this.queued.length + this.resendableInFlight;
  }

  /** Takes the request `id` out of inFlight (its reply came, or it timed out); undefined if it was
   *  not there. */
  private landed(id: string): Pending | undefined {
    const p = this.inFlight.get(id);
    if (!p) return undefined;
    this.inFlight.delete(id);
    if (resendable(p.frame.type as RequestType | "ack")) this.resendableInFlight--;
    return p;
  }
}

/** Whether sending `type` again after a drop is safe: it changes nothing (a read), the broker
 *  de-duplicates it (a send), or repeating it changes nothing more (an ack: the entries are gone). */
function resendable(type: RequestType | "ack"): boolean {
  return type === "ack" || REQUEST_EFFECT[type] !== "change";
}

/** The error of a request in flight when the connection closed for good: why, and what that
 *  leaves. A send says no more: its SendError names the clientMessageId, and its callers say how
 *  to retry. */
function droppedError(type: RequestType | "ack", goingAwayFrom: string | undefined): MeshError {
  const closed = goingAwayFrom === undefined
    ? "the connection to the broker closed before it answered"
    : `the broker at ${goingAwayFrom} is shutting down or restarting and closed the connection before it answered`;
  const later = goingAwayFrom === undefined ? "" : " in a moment";
  const why =
    type === "send" ? `${closed}.`
    : type === "ack" ? `${closed}; acknowledging the same messages again is harmless.`
    : resendable(type) ? `${closed}. Nothing was changed; try again${later}.`
    : `${closed}: it may or may not have taken effect. Check before trying again${later}.`;
  const text = requestFailed(type, why);
  return goingAwayFrom === undefined ? new MeshError("unavailable", text) : new GoingAwayError("unavailable", text);
}
