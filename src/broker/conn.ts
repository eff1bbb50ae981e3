// One client connection and what the broker knows about it. Created unauthenticated; becomes
// `ready` after a verified hello; `closed` once the socket is gone.
import type { Role } from "../protocol/fields.ts";
import type { AttestationFields } from "../protocol/frames.ts";
import type { Transport } from "./ws/transport.ts";
import type { Member } from "../store/types.ts";
import { randomId } from "../crypto/hash.ts";
import type { MeshError } from "../protocol/errors.ts";
import type { AddressShare } from "./address-output.ts";

export type Identity = {
  meshId: string;
  memberId: string;
  memberPubkey: string;
  role: Role;
  kind: "member" | "session";
  /** The key this connection authenticated with; also its mailbox. */
  pubkey: string;
  /** Display name shown to peers (member name, or member name/session label). */
  displayName: string;
  /** Only for sessions: the member's attestation of this session key, the newest presented. */
  attestation: AttestationFields | null;
};

/** The identity of a connection that authenticated with a member key. */
export function memberIdentity(member: Pick<Member, "meshId" | "id" | "pubkey" | "role" | "displayName">): Identity {
  return {
    meshId: member.meshId,
    memberId: member.id,
    memberPubkey: member.pubkey,
    role: member.role,
    kind: "member",
    pubkey: member.pubkey,
    displayName: member.displayName,
    attestation: null,
  };
}

/** Characters of a key the log shows: enough to find it in `member list`, not the whole key. */
export const KEY_PREFIX_CHARS = 12;

/** A connection as a log line names it: its id, and once authenticated whose it is (mesh, member,
 *  a prefix of the key it authenticated with) and where it connects from. An operator greps the
 *  log by member or address, never by the internal connection id alone. */
export function connFields(c: Conn): Record<string, unknown> {
  const id = c.identity;
  return {
    conn: c.id,
    ...(id ? { meshId: id.meshId, memberId: id.memberId, kind: id.kind, pubkey: id.pubkey.slice(0, KEY_PREFIX_CHARS) } : {}),
    ip: c.transport.remoteAddress,
  };
}

export type Whereabouts = { sessionId: string; pid: number; cwd: string; hostname: string };

let counter = 0;

/** Unsent bytes past which a connection gets no more pushes until its socket drains. Well below
 *  the backpressure limit at which Bun closes a socket (server.ts), so a slow reader is paced,
 *  not disconnected; results and events are not paced and have that whole margin. */
export const CONGESTED_BYTES = 1024 * 1024;

/** Unsent bytes at which the broker handles none of a connection's frames and stops reading its
 *  socket, until the client has read enough (the drain event, or the end of the turn's write).
 *  Pushes stop at CONGESTED_BYTES and never reach this: only answers to requests (or pongs to its
 *  own pings) that a client does not read do. Without it an answer was written for every request
 *  whether or not the client read, up to Bun's 16 MiB per socket; a paused socket also takes no
 *  pings, so a client cannot grow its pongs either. */
export const PAUSE_BYTES = 2 * CONGESTED_BYTES;

/** The broker's pings a connection may owe pongs for; older ones are forgotten (a connection owes
 *  pongs for UNREAD_ROUNDS intervals at most before it is closed: timers.ts). */
const MAX_PINGS_OWED = 16;

export class Conn {
  readonly id: string;
  /** Order of creation in this process (spreads liveness pings: timers.ts). */
  readonly seq: number;
  state: "hello" | "ready" | "closed" = "hello";
  identity: Identity | null = null;
  /** Where the client said it runs (its hello), once attached. */
  where: Whereabouts | null = null;
  /** push: the broker pushes queued messages; pull: only `fetch` hands them out. */
  receive: "push" | "pull" = "push";
  /** The `event` pushes this connection subscribed to in its hello; null: all of them (the hello
   *  named none, as every hello before the field). Hub.emit sends it no other. */
  events: ReadonlySet<string> | null = null;
  /** Message ids pushed or fetched to this connection and not yet acked. */
  readonly inflight = new Set<string>();
  /** Messages claimed for this connection by a group commit and not yet pushed (router.ts):
   *  counted against the window until then. */
  claimedUncommitted = 0;
  /** Set when messages may be waiting that this connection has not been given. */
  backlog = false;
  /** Bumped by every wake(): a pump whose claim was under way then must not clear `backlog`. */
  wakes = 0;
  pumping = false;
  /** Set by each liveness ping; cleared by anything heard from the client (a frame, a ping, a pong). */
  awaitingPong = false;
  /** performance.now() of the broker's oldest ping that no pong answered yet, or null. A client's frames
   *  and pings prove it writes; only a pong (which waits behind every byte sent before its ping)
   *  proves it reads (timers.ts, UNREAD_ROUNDS). */
  pongOwedSince: number | null = null;
  /** The broker's pings not answered yet, oldest first. Each carries a random payload, and only a
   *  pong that echoes one counts (RFC 6455 §5.5.3): an unsolicited pong, which a client may send
   *  without reading anything, proves nothing. */
  private pingsOwed: { payload: string; sentAt: number }[] = [];
  /** After an answer was refused for the address's cap: the ping whose pong shows the client
   *  reads, and the frame waiting for it (provingRead). */
  private proofPing: string | null = null;
  private proofWaiter: (() => void) | null = null;
  /** Set while the broker does not read this socket (PAUSE_BYTES). */
  private readingPaused = false;
  /** The connection's next frame, waiting for its output to fall below PAUSE_BYTES. */
  private roomWaiter: (() => void) | null = null;
  /** While the connection waits out its frame allowance (pace): the timer that ends the wait,
   *  the frame waiting for it, and whether the socket is left unread meanwhile (unreadWhilePaced). */
  private paceTimer: ReturnType<typeof setTimeout> | null = null;
  private paceWaiter: (() => void) | null = null;
  private paceUnread = false;
  /** Drain events: each means the kernel took some of the socket's output, so the client reads. */
  private drains = 0;
  /** What stalled() saw at its previous call. */
  private seen = { paused: false, drains: 0 };
  helloTimer: ReturnType<typeof setTimeout> | null = null;
  /** This connection's part of its address's unsent bytes, as last counted (recount). */
  private counted = 0;

  /** `address`: the client address whose unsent-output cap this connection shares
   *  (address-output.ts); null for a connection without a socket of its own. */
  constructor(
    readonly transport: Transport,
    bootId: string,
    private address: AddressShare | null = null,
  ) {
    this.seq = ++counter;
    this.id = `${bootId}.${this.seq}`;
  }

  get ready(): boolean {
    return this.state === "ready";
  }

  /** Bytes of pushes the socket can take before it counts as congested (≤ 0: congested; pushes
   *  wait in the queue until the socket drains): CONGESTED_BYTES, within what its address has room
   *  for. */
  get pushBudget(): number {
    const own = this.recount();
    const budget = CONGESTED_BYTES - own;
    return this.address ? Math.min(budget, this.address.room(own)) : budget;
  }

  /** The socket's unsent bytes, counted again into its address's sum. */
  private recount(): number {
    const own = this.transport.buffered();
    if (this.address) {
      this.address.unsent += own - this.counted;
      this.counted = own;
    }
    return own;
  }

  /** Whether the connection's unsent output holds its frames: PAUSE_BYTES, or its share while its
   *  address is full (address-output.ts). */
  private overMark(): { over: boolean; byAddress: boolean } {
    const own = this.recount();
    if (own >= PAUSE_BYTES) return { over: true, byAddress: false };
    const byAddress = this.address?.holds(own) ?? false;
    return { over: byAddress, byAddress };
  }

  /** Null when an answer of `chars` may be written: within what its address's cap has left, or
   *  within the connection's share of it. Otherwise the error to answer with instead (the address
   *  is told: its metric and log line). */
  answerRefused(chars: number): MeshError | null {
    if (!this.address || chars <= this.address.room(this.recount())) return null;
    this.address.held(this.address, "refused", this);
    // Not a liveness ping (awaitingPong): the next liveness round may come before a pong could.
    this.proofPing ??= this.sendPing(performance.now());
    return this.address.refusal(chars);
  }

  /** Counts the connection out of its address's unsent bytes (its socket closed); returns the
   *  address it left, null if none. */
  leaveAddress(): AddressShare | null {
    const left = this.address;
    if (left) left.unsent -= this.counted;
    this.counted = 0;
    this.address = null;
    return left;
  }

  /** Sends a liveness ping with a fresh random payload; `mono`: performance.now(). */
  ping(mono: number): void {
    this.awaitingPong = true;
    this.sendPing(mono);
  }

  /** Sends a ping the client owes a pong for, and returns its payload. */
  private sendPing(mono: number): string {
    this.pongOwedSince ??= mono;
    const payload = randomId(9);
    this.pingsOwed.push({ payload, sentAt: mono });
    if (this.pingsOwed.length > MAX_PINGS_OWED) this.pingsOwed.shift();
    this.transport.ping(payload);
    return payload;
  }

  /** A pong arrived. It counts only if it echoes one of the pings owed (a client may answer only
   *  the latest of several, RFC 6455 §5.5.3): then that ping and every earlier one are answered.
   *  Returns whether it counted. */
  pong(payload: string): boolean {
    const i = this.pingsOwed.findIndex((p) => p.payload === payload);
    if (i < 0) return false;
    this.pingsOwed.splice(0, i + 1);
    this.awaitingPong = false;
    this.pongOwedSince = this.pingsOwed[0]?.sentAt ?? null;
    // Answered, or a later one was (a client may answer only the latest, RFC 6455 §5.5.3).
    if (this.proofPing !== null && !this.pingsOwed.some((p) => p.payload === this.proofPing)) this.endProof();
    return true;
  }

  /** Whether the connection's next frame waits for its client to show that it reads: an answer
   *  of it was refused for its address's cap (answerRefused), and a non-reader's next answer would
   *  be refused too, made for nothing. A reader shows it within a round trip. */
  get provingRead(): boolean {
    return this.proofPing !== null;
  }

  /** Resolves once the client answered the ping sent with the refusal, or the connection closed.
   *  Call only while provingRead; frames are handled one at a time, so one waits at most. */
  proof(): Promise<void> {
    return new Promise((resolve) => (this.proofWaiter = resolve));
  }

  /** Ends the wait for a proof of reading (its pong came, or the connection closed). */
  endProof(): void {
    this.proofPing = null;
    const go = this.proofWaiter;
    this.proofWaiter = null;
    go?.();
  }

  /** Whether this ready connection's unsent output reached PAUSE_BYTES, or its share of its
   *  address's cap while the address is full; if so the broker stops reading its socket until
   *  outputMoved() finds the output below. */
  congested(): boolean {
    const { over, byAddress } = this.state === "ready" ? this.overMark() : { over: false, byAddress: false };
    if (!over) {
      // Below again (each way down reports to outputMoved; this only makes sure of it).
      if (this.readingPaused) this.outputMoved();
      return false;
    }
    if (!this.readingPaused) {
      this.readingPaused = true;
      if (!this.paceUnread) this.transport.pauseReading(true);
      if (byAddress) this.address!.held(this.address!, "paused", this);
    }
    return true;
  }

  /** Resolves once the output fell below its mark (congested) or the connection closed. Call only after
   *  congested() returned true; frames are handled one at a time, so one waits at most. */
  room(): Promise<void> {
    return new Promise((resolve) => (this.roomWaiter = resolve));
  }

  /** Holds the connection's next frame for `ms`, because the connection spent its frame allowance
   *  (ws/frame-line.ts). The socket is still read, so that a client that goes away is noticed at
   *  once (its FIN or close frame comes behind what it sent before), until unreadWhilePaced().
   *  Resolves once the time is up, or at once when the connection closes (endPace). Frames are
   *  handled one at a time, so one waits at most. */
  pace(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.paceWaiter = resolve;
      this.paceTimer = setTimeout(() => this.endPace(), ms);
    });
  }

  /** Stops reading the socket until the pace under way ends: enough of the connection's frames
   *  wait already (ws/frame-line.ts), and its client then sees TCP backpressure, the broker spending
   *  nothing on it. No-op when not pacing. While unread, a FIN is not noticed (Transport). The same
   *  while it waits for a proof of reading (provingRead), which then cannot come: a client that sent
   *  that much behind a refused answer without reading is left to liveness (a ping unanswered). */
  unreadWhilePaced(): void {
    if ((this.paceTimer === null && this.proofPing === null) || this.paceUnread) return;
    this.paceUnread = true;
    if (!this.readingPaused) this.transport.pauseReading(true);
  }

  /** Ends a pace (its time is up, or the connection closed): reading resumes unless the output is
   *  still congested, and the waiting frame goes on. Cheap when not pacing. */
  endPace(): void {
    if (this.paceTimer === null) return;
    clearTimeout(this.paceTimer);
    this.paceTimer = null;
    if (this.paceUnread && !this.readingPaused && this.state !== "closed") this.transport.pauseReading(false);
    this.paceUnread = false;
    const go = this.paceWaiter;
    this.paceWaiter = null;
    go?.();
  }

  /** Whether the broker is not reading this socket because its output is congested (congested()).
   *  It then hears no pong. */
  get readingIsPaused(): boolean {
    return this.readingPaused;
  }

  /** Whether the connection waits out its frame allowance (pace()): perhaps not read either
   *  (unreadWhilePaced), when it hears no pong meanwhile. */
  get pacing(): boolean {
    return this.paceTimer !== null;
  }

  /** For liveness (timers.ts), once per round: whether the broker has not read this socket since
   *  the previous call and the socket took none of its output meanwhile (no drain event). Only a
   *  client that does not read stays so; one reading over a slow link drains. */
  stalled(): boolean {
    const stalled = this.readingPaused && this.seen.paused && this.drains === this.seen.drains;
    this.seen = { paused: this.readingPaused, drains: this.drains };
    return stalled;
  }

  /** The socket's drain event: the kernel took some of its output. */
  drained(): void {
    this.drains++;
    this.outputMoved();
  }

  /** The socket took some output (drain, or the end of a turn's write), or closed: counted again
   *  into its address's sum; reading resumes and the waiting frame is handled once the output is
   *  below its mark (congested). Cheap when not paused. */
  outputMoved(): void {
    if (!this.readingPaused) return void this.recount();
    const closed = this.state === "closed";
    if (!closed && this.overMark().over) return;
    this.readingPaused = false;
    if (!closed && !this.paceUnread) this.transport.pauseReading(false);
    const wake = this.roomWaiter;
    this.roomWaiter = null;
    wake?.();
  }

  send(frame: unknown): boolean {
    return this.state !== "closed" && this.sendRaw(JSON.stringify(frame));
  }

  sendRaw(text: string): boolean {
    if (this.state === "closed" || !this.transport.send(text)) return false;
    // Counted at once (the socket's own count is read at the next recount): answers written in
    // the same turn, to connections of one address, see each other.
    if (this.address) {
      this.counted += text.length;
      this.address.unsent += text.length;
    }
    return true;
  }

  /** Why the broker closed this connection, as broker_connections_closed_total labels it; null
   *  while open, or when the client closed it. */
  closedBy: string | null = null;

  /** Closes the socket with `code` and `reason` (the wire's); `label`: the metric's reason, where
   *  the wire's is shared by several causes. */
  close(code: number, reason: string, label = reason): void {
    if (this.state === "closed") return;
    this.closedBy ??= label;
    this.transport.close(code, reason);
  }
}
