// BrokerClient: one authenticated WebSocket to a broker, kept alive across failures.
// Guarantees:
// - every request gets a reply, an error, or a `timeout` MeshError; none hangs forever; requests
//   made while disconnected wait in a bounded queue and are sent after the next hello_ack, and a
//   `send` whose outcome is unknown is sent again (request-table.ts says how);
// - a link that goes silent without a close (half-open) is found by the client itself: after
//   `pingIdleMs` without a frame or ping from the broker it pings, and after `pongTimeoutMs` more
//   of silence it drops the socket and reconnects (liveness.ts); a connect whose hello_ack has not
//   come within `handshakeTimeoutMs` (15 s) is dropped the same way;
// - a process that did not run for a while (a laptop asleep; wake.ts) probes its open link at
//   once and gives it WAKE_PONG_TIMEOUT_MS to answer, and a reconnect it was waiting for is made
//   at once;
// - reconnects back off exponentially with jitter (1 s → 30 s) and stop on terminal close codes;
// - whether a failed *first* connect is retried is the caller's explicit choice (`firstConnect`):
//   a one-shot command wants a clear error at once, a long-lived process wants to wait for the
//   broker to appear.
import { decodeServerFrame } from "../protocol/codec.ts";
import { CloseCode } from "../protocol/close-codes.ts";
import { MeshError, errorFromWire } from "../protocol/errors.ts";
import type { ClientFrameOf, RequestType } from "../protocol/frames.ts";
import { PROTOCOL_VERSION } from "../protocol/limits.ts";
import type { Results } from "../protocol/results.ts";
import type { HelloAckFrame } from "../protocol/server-frames.ts";
import { AckBatch, ackFrames } from "./ack-batch.ts";
import { backoffDelay, connectRefusal, retriesClose } from "./reconnect.ts";
import { brokerBase, wsUrl } from "./broker-url.ts";
import { goingAway, handshakeUnanswered, socketFailure, unusableUrl } from "./broker-trouble.ts";
import { LivenessWatch, ReceivingPinger, livenessFor } from "./liveness.ts";
import { WAKE_PONG_TIMEOUT_MS, WakeWatch } from "./wake.ts";
import { RequestTable } from "./request-table.ts";
import { AttestationRenewal } from "./attestation-renewal.ts";
import { Hellos } from "./hellos.ts";
import type { BrokerRefusals } from "./broker-refusals.ts";
import type { ClientOptions, ClientState, StateDetail } from "./client-options.ts";

export type { ClientOptions, ClientState } from "./client-options.ts";

/** Bun's client WebSocket, which the DOM typings this project also loads do not describe in
 *  full: it can send a ping and drop the connection without a closing handshake. */
type Socket = WebSocket & { ping(): void; terminate(): void };

/** Default for ClientOptions.handshakeTimeoutMs: the broker's own hello timeout (10 s) plus slack. */
const HANDSHAKE_TIMEOUT_MS = 15_000;

export class BrokerClient {
  state: ClientState = "connecting";
  ack: HelloAckFrame | null = null;
  private ws: Socket | null = null;
  private readonly requests: RequestTable;
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private opened: { resolve: (a: HelloAckFrame) => void; reject: (e: MeshError) => void } | null = null;
  /** The error frame (without id) a broker sends before closing a refused hello: its message says
   *  more than the close reason's code ("banned" rather than "revoked"). */
  private refusal: MeshError | null = null;
  /** The first connect()'s promise, returned to later calls made before its hello_ack. */
  private connecting: Promise<HelloAckFrame> | null = null;
  /** connect() calls made while reconnecting after a drop: settled by the next hello_ack, or
   *  rejected if the client closes for good first. Kept apart from `opened`, which marks a first
   *  connect (whose failures follow `firstConnect`, not `reconnect`). */
  private reopened: PromiseWithResolvers<HelloAckFrame> | null = null;
  private readonly acks = new AckBatch((frame) => {
    if (this.state === "open" && this.ws) this.ws.send(frame);
  });
  /** What this client's hellos carry, and when a refused one is said again (hellos.ts). */
  private readonly hellos: Hellos;
  /** A session's attestation renewals (null for a member connection). */
  private readonly renewal: AttestationRenewal | null;
  /** The current socket's liveness watch. */
  private watch: LivenessWatch | null = null;
  /** Notices that this process did not run for a while (wake.ts); runs from the first connect
   *  until the client closes. */
  private readonly wake = new WakeWatch({ onWake: () => this.woke() });

  /** The current socket's pings while it receives, from its hello_ack on. */
  private pinger: ReceivingPinger | null = null;
  /** The current socket's handshake deadline, until its hello_ack. */
  private handshakeTimer: ReturnType<typeof setTimeout> | null = null;
  /** Why the current socket failed before it opened, in broker-trouble.ts's words (a close 1006
   *  says nothing): a failed first connect rejects with it. */
  private failure: MeshError | null = null;
  /** The broker as errors name it: the http(s) base the user gave, not the internal ws:// URL;
   *  that of the latest connection attempt when `url` is a function. */
  private base: string;
  private urlProblem: MeshError | null = null; // why `base` is no broker URL (nextBase), or null

  constructor(private readonly opts: ClientOptions) {
    this.hellos = new Hellos(opts);
    this.renewal = this.hellos.attestor && new AttestationRenewal(this.hellos.attestor, (attestation) => this.request("attest", { attestation }), () => this.state === "open", opts.random);
    this.requests = new RequestTable({ open: () => this.state === "open" && this.ws !== null, write: (text) => this.ws!.send(text), maxFrameBytes: () => this.ack?.limits.maxFrameBytes, base: () => this.base }, opts);
    this.base = this.nextBase();
  }

  /** The http(s) base to connect to now (`url`, or what its function says now); a URL that is none
   *  is kept as it is, with `urlProblem` saying why, for the attempt to fail naming it. */
  private nextBase(): string {
    const url = typeof this.opts.url === "function" ? this.opts.url() : this.opts.url;
    this.urlProblem = null;
    try {
      return brokerBase(url).base;
    } catch (err) {
      this.urlProblem = unusableUrl((err as Error).message);
      return url;
    }
  }

  /** The broker's http(s) base this client connects to (or last tried to). */
  get brokerBase(): string {
    return this.base;
  }

  /** What the broker refused of this client's newer asks (an older broker, broker-refusals.ts). */
  get refusals(): BrokerRefusals {
    return this.hellos.refusals;
  }

  /** Connects and completes the hello; rejects with the broker's reason if it refuses.
   *  Idempotent, because the client keeps its one connection itself (reconnecting after a drop):
   *  on an open client it resolves with the current hello_ack, while the first connect is under
   *  way it returns that same promise, while reconnecting after a drop it resolves with the next
   *  hello_ack (so a request made then is sent on a live link), and it never opens a second socket
   *  (which would double every push and outlive close()). A closed client (close(), a refusal for
   *  good) never connects again: connect() rejects at once with `unavailable`, as does a waiting
   *  one when the client closes instead of reconnecting; make a new client. */
  connect(): Promise<HelloAckFrame> {
    if (this.state === "closed") return Promise.reject(new MeshError("unavailable", "This client is closed and cannot connect again; create a new one."));
    if (this.state === "open" && this.ack) return Promise.resolve(this.ack);
    if (this.connecting && !this.opened) return (this.reopened ??= Promise.withResolvers()).promise;
    return (this.connecting ??= new Promise((resolve, reject) => {
      this.opened = { resolve, reject };
      this.open();
    }));
  }

  private open(): void {
    if (this.state === "closed") return; // close() ran (perhaps from an onState callback) after the timer was set
    this.wake.start();
    if (typeof this.opts.url === "function") this.base = this.nextBase();
    if (this.urlProblem) {
      this.failure = this.urlProblem; // no socket (`this.ws` is null): a failed attempt, retried as chosen
      return this.onClose(null, 1006, "unusable broker URL");
    }
    const ws = new WebSocket(wsUrl(this.base)) as Socket;
    this.ws = ws;
    this.failure = null;
    this.refusal = null;
    // From its creation: a connect or a hello that stalls on a dead link is given up too. Until
    // this socket's hello_ack, at the default pace: the last broker's may be a second, and a socket
    // slower to open than that (a resolver, a TLS handshake over a slow path) is no dead link; the
    // handshake timeout bounds this phase.
    const watch = new LivenessWatch({
      ...this.livenessTimings(undefined),
      ping: () => ws.readyState === WebSocket.OPEN && ws.ping(),
      dead: (silentMs) => this.giveUp(ws, `nothing heard from the broker for ${silentMs} ms`),
    });
    this.watch = watch;
    const handshakeMs = this.opts.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS;
    this.handshakeTimer = setTimeout(() => {
      this.failure = handshakeUnanswered(this.base, handshakeMs);
      this.giveUp(ws, `no hello_ack within ${handshakeMs} ms`);
    }, handshakeMs);
    ws.onopen = () => {
      watch.heard();
      const hello = this.hellos.next();
      if (hello.type === "session_hello") this.renewal?.sent(hello.attestation.expiresAt);
      ws.send(JSON.stringify(hello));
    };
    // Only the current socket speaks for this client; one given up on is deaf.
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      watch.heard();
      this.onFrame(String(ev.data));
      if (this.ws === ws) this.pinger?.frame();
    };
    // The broker's pings (every pingInterval), and the pongs to this client's own.
    ws.addEventListener("ping", () => watch.heard());
    ws.addEventListener("pong", () => watch.heard());
    ws.onclose = (ev) => {
      watch.stop();
      if (this.ws === ws) this.endHandshake();
      this.onClose(ws, ev.code, ev.reason);
    };
    ws.onerror = (ev) => {
      if (this.ws === ws && ws.readyState !== WebSocket.OPEN) this.failure ??= socketFailure(this.base, ev);
    };
  }

  private stopPinger(): void {
    this.pinger?.stop();
    this.pinger = null;
  }

  /** The liveness watch's timings: the caller's options, else matched to the broker's ping
   *  interval as this socket's hello_ack said it (livenessFor; its defaults before that). */
  private livenessTimings(pingIntervalMs: number | undefined): { idleMs: number; timeoutMs: number } {
    const fit = livenessFor(pingIntervalMs);
    return { idleMs: this.opts.pingIdleMs ?? fit.idleMs, timeoutMs: this.opts.pongTimeoutMs ?? fit.timeoutMs };
  }

  /** The link went silent, or the hello_ack did not come: no close frame will come (the broker's
   *  4100 is lost with the link), so it counts as an abnormal close (1006), and the socket is
   *  dropped without a closing handshake that would wait on the dead link. */
  private giveUp(ws: Socket, why: string): void {
    if (this.ws !== ws) return;
    this.endHandshake();
    this.onClose(ws, 1006, why);
    ws.terminate();
  }

  private endHandshake(): void {
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
  }

  private onFrame(text: string): void {
    let f;
    try {
      f = decodeServerFrame(text);
    } catch {
      return; // A broker we cannot parse is a broker bug; the request times out with a clear error.
    }
    switch (f.type) {
      case "hello_ack":
        // §1.2: a client that does not speak the broker's version closes (1000) and says so.
        if (f.protocolVersion !== PROTOCOL_VERSION) {
          const err = new MeshError("unsupported_version", `The broker speaks protocol version ${f.protocolVersion} and this client version ${PROTOCOL_VERSION}: upgrade claudemesh to use this broker.`);
          return this.shutdown(CloseCode.normal, "unsupported_version", err, err);
        }
        this.endHandshake();
        this.ack = f;
        this.hellos.refusals.connected();
        this.attempt = 0;
        this.watch?.retune(this.livenessTimings(f.pingIntervalMs));
        this.stopPinger();
        if (f.pingIntervalMs && this.ws) {
          const ws = this.ws;
          this.pinger = new ReceivingPinger(() => ws.readyState === WebSocket.OPEN && ws.ping(), f.pingIntervalMs);
        }
        // What waited goes out first, in order, before anything the onState callback sends.
        this.setState("open", {}, () => this.requests.flush());
        if (this.state === "closed") return; // the onState callback called close()
        this.opened?.resolve(f);
        this.reopened?.resolve(f);
        this.opened = this.reopened = null;
        this.renewal?.schedule();
        return;
      case "result":
      case "error":
        // An error without an id before this socket's hello_ack: the broker refused the hello.
        if (f.type === "error" && f.id === undefined && this.state !== "open") this.refusal = errorFromWire(f);
        this.requests.answer(f);
        return;
      case "message":
        this.opts.onMessage?.(f);
        return;
      case "event":
        // The mesh's key epoch as of now, not only as of the hello (MeshSession.send checks it).
        if (f.event === "key_rotated" && this.ack && typeof f.data.epoch === "number" && f.data.epoch > this.ack.mesh.keyEpoch) {
          this.ack = { ...this.ack, mesh: { ...this.ack.mesh, keyEpoch: f.data.epoch } };
        }
        if (this.hellos.interest.wants(f.event)) this.opts.onEvent?.(f);
        return;
    }
  }

  private onClose(ws: WebSocket | null, code: number, reason: string): void {
    if (this.ws !== ws) return;
    this.ws = null;
    this.stopPinger();
    // A `replayed` refusal of a first connect, or an older broker's of the `events` field (hellos.ts).
    if (this.state !== "closed" && this.hellos.sayAgain(reason, this.refusal, this.opened !== null)) return this.open();
    // `opened` is set from connect() until the first hello_ack: a failure before then is a failed
    // first connect, retried only if the caller asked for it.
    const first = this.opened !== null;
    const wanted = first ? this.opts.firstConnect === "retry" : this.opts.reconnect !== false;
    // A 4004 while this process holds the session came from an older one taking it back.
    const takenBack = code === CloseCode.sessionReplaced && this.holder() === "this";
    const retry = this.state !== "closed" && (retriesClose(code, reason, wanted) || (wanted && takenBack));
    if (this.opened && !retry) {
      this.opened.reject(connectRefusal(code, reason, this.refusal, this.failure, this.base));
      this.opened = null;
    }
    // A 1001 is the broker saying it is shutting down: the cause is known, so it is said.
    const goneAway = code === CloseCode.goingAway;
    this.requests.dropped(retry, goneAway ? this.base : undefined);
    if (!retry) {
      this.reopened?.reject(connectRefusal(code, reason, this.refusal, this.failure, this.base));
      this.reopened = null;
      this.setState("closed", { code, reason });
      this.requests.rejectAll(goneAway ? goingAway(this.base) : new MeshError("unavailable", `Disconnected (${code} ${reason}).`));
      return;
    }
    // The broker's own refusal of the hello (a clock skew, a rate limit) is as much the reason as
    // a socket that never opened: without it a reconnecting client's user never learnt what to fix.
    const failure = this.failure ?? (this.refusal?.code === reason ? this.refusal : null);
    this.setState("reconnecting", { code, reason, ...(failure ? { failure } : {}) });
    if (this.state === "closed") return; // the onState callback called close(): arm no timer
    const delay = backoffDelay(this.attempt++, this.opts.random);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.reopen();
    }, delay);
  }

  /** The process did not run for a while: an open link may have died meanwhile without a word
   *  (its watch counted none of that time), so it is asked now; a reconnect wait begun before is
   *  stale, so the attempt is made now. A socket still connecting has its handshake timeout. */
  private woke(): void {
    if (this.ws?.readyState === WebSocket.OPEN) return this.watch?.probe(WAKE_PONG_TIMEOUT_MS);
    if (!this.reconnectTimer) return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.reopen();
  }

  /** Opens the next socket, unless a newer process of this session holds it by now: that one got
   *  the session while this one was away, and connecting would take it back (ClientOptions). A
   *  newer process that is gone (it died before it ever connected) holds nothing. */
  private reopen(): void {
    if (this.holder() !== "another") return this.open();
    // Like holder(): an answer it cannot give (it throws) leaves the older verdict standing.
    const alive = Promise.resolve().then(() => this.opts.sessionHold?.anotherAnswers() ?? true).catch(() => true);
    void alive.then((held) => {
      if (this.state === "closed") return; // close() ran while it was asked
      if (!held) return this.open();
      const err = new MeshError("unavailable", `Disconnected (${CloseCode.sessionReplaced} session_replaced): a newer process of this session holds it.`);
      this.shutdown(CloseCode.sessionReplaced, "session_replaced", err, err);
    });
  }

  /** ClientOptions.sessionHold's holder, null when absent or when it throws (4004 then stays terminal). */
  private holder(): "this" | "another" | null {
    try {
      return this.opts.sessionHold?.holder() ?? null;
    } catch {
      return null;
    }
  }

  /** Enters state `s`, runs `first` (in that state), then tells the caller (onState). */
  private setState(s: ClientState, detail: StateDetail, first?: () => void): void {
    this.state = s;
    if (s === "closed") this.wake.stop();
    first?.();
    // The caller's bug stays the caller's: an exception thrown out of here would skip the rest of
    // the transition (connect() left pending for good, no reconnect timer armed).
    try {
      this.opts.onState?.(s, detail);
    } catch (err) {
      console.error("claudemesh client: the onState callback threw:", err);
    }
  }

  /** Sends a request and resolves with its result data. A `send` rejects with a SendError, which
   *  names the clientMessageId to retry with. */
  request<T extends RequestType | "ack">(type: T, payload: Omit<ClientFrameOf<T>, "type" | "id">, timeoutMs = this.opts.requestTimeoutMs ?? 15_000): Promise<Results[T]> {
    if (this.state === "closed") return Promise.reject(new MeshError("unavailable", "The client is closed."));
    return this.requests.add(type, payload, timeoutMs);
  }

  /** Acknowledges messages, fire-and-forget; acks made in the same tick go out together (AckBatch). */
  ackMessages(ids: readonly string[]): void {
    this.acks.add(ids);
  }

  /** Acks and waits for the broker to confirm they were committed. More ids than one ack frame
   *  holds (MAX_ACK_BATCH) go as several acks, one after another: on a failure it rejects, and
   *  those confirmed before stay acked (the others are redelivered). */
  async ackSync(ids: readonly string[]): Promise<{ acked: number }> {
    let acked = 0;
    for (const messageIds of ackFrames(ids)) acked += (await this.request("ack", { messageIds })).acked;
    return { acked };
  }

  /** Closes for good (no reconnect). Acks not sent yet go out first; pending requests, and a
   *  connect() still waiting for its first hello_ack, reject with `unavailable`. */
  close(code = CloseCode.normal, reason = "client closed"): void {
    this.shutdown(code, reason, new MeshError("unavailable", "The client was closed before it connected."), new MeshError("unavailable", "The client was closed."));
  }

  /** Ends the client for good: a waiting connect() rejects with `connectErr`, every request with
   *  `requestErr`, and the socket closes with `code`. */
  private shutdown(code: number, reason: string, connectErr: MeshError, requestErr: MeshError): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.renewal?.stop();
    this.endHandshake();
    this.watch?.stop();
    this.stopPinger();
    this.acks.flush();
    const ws = this.ws;
    this.setState("closed", { code, reason });
    this.opened?.reject(connectErr);
    this.reopened?.reject(connectErr);
    this.opened = this.reopened = null;
    this.requests.rejectAll(requestErr);
    ws?.close(code, reason);
    this.ws = null;
  }
}
