// One client connection and what the broker knows about it. Created unauthenticated; becomes
// `ready` after a verified hello; `closed` once the socket is gone.
import type { Role } from "../protocol/fields.ts";
import type { AttestationFields } from "../protocol/frames.ts";
import type { Transport } from "./ws/transport.ts";
import type { Member } from "../store/types.ts";

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

export type Whereabouts = { sessionId: string; pid: number; cwd: string; hostname: string };

let counter = 0;

/** Unsent bytes past which a connection gets no more pushes until its socket drains. Well below
 *  the backpressure limit at which Bun closes a socket (server.ts), so a slow reader is paced,
 *  not disconnected; results and events are not paced and have that whole margin. */
export const CONGESTED_BYTES = 1024 * 1024;

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
  helloTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    readonly transport: Transport,
    bootId: string,
  ) {
    this.seq = ++counter;
    this.id = `${bootId}.${this.seq}`;
  }

  get ready(): boolean {
    return this.state === "ready";
  }

  /** Bytes of pushes the socket can take before it counts as congested (≤ 0: congested; pushes
   *  wait in the queue until the socket drains). */
  get pushBudget(): number {
    return CONGESTED_BYTES - this.transport.buffered();
  }

  send(frame: unknown): boolean {
    return this.state !== "closed" && this.transport.send(JSON.stringify(frame));
  }

  sendRaw(text: string): boolean {
    return this.state !== "closed" && this.transport.send(text);
  }

  close(code: number, reason: string): void {
    if (this.state === "closed") return;
    this.transport.close(code, reason);
  }
}
