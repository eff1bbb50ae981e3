// What a BrokerClient is given (client.ts): where to connect, as whom, and its timeouts, bounds
// and callbacks.
import type { EventFrame, MessagePushFrame } from "../protocol/server-frames.ts";
import type { EventChoice } from "./event-interest.ts";
import type { Refusable } from "./broker-refusals.ts";
import type { Credentials, Whereabouts } from "./credentials.ts";
import type { MeshError } from "../protocol/errors.ts";

export type ClientState = "connecting" | "open" | "reconnecting" | "closed";

/** What a state change came with: the close's code and reason, and `failure` (see onState). */
export type StateDetail = { code?: number; reason?: string; failure?: MeshError };

/** Which process of a session holds it now, by local evidence.
 *  holder(): "another": a newer process does, so this client does not reconnect and closes as if
 *  replaced (4004), unless anotherAnswers() says that process is gone (its evidence outlives it,
 *  as a socket file outlives a process that died); "this": a 4004 came from an older process that
 *  was still reconnecting when this one connected, so this client reconnects (and that one is
 *  closed with 4004 in turn); null: not known, and a 4004 stays terminal. */
export type SessionHold = { holder(): "this" | "another" | null; anotherAnswers(): Promise<boolean> };

export type ClientOptions = {
  /** Broker base URL (http, https, ws or wss); the client connects to <base>/ws. A function is
   *  asked again before each connection attempt (its first and every reconnect), so a client that
   *  keeps itself connected follows a URL changed meanwhile (`claudemesh set-broker`). */
  url: string | (() => string);
  credentials: Credentials;
  where: Whereabouts;
  /** Reconnect after a connection that was open drops (default true). */
  reconnect?: boolean;
  /** What a failure before the first hello_ack does. "fail" (default): connect() rejects at once
   *  with the reason (CLI commands). "retry": it is retried with the reconnect backoff and connect()
   *  settles only when a hello is acked or the broker refuses for good (the MCP server, which may
   *  start before its broker). Refusals that are never retried (bad keys, kicked) reject either way. */
  firstConnect?: "fail" | "retry";
  requestTimeoutMs?: number;
  /** How long a `send` the broker keeps answering `unavailable` (database full, locked) is sent
   *  again, from the first such answer, before it rejects with it (default: until its timeout). */
  unavailableRetryMs?: number;
  /** Most requests waiting while disconnected (default 1000). Sends awaiting a reply count
   *  toward it, because a drop queues them again: a send beyond it is refused even while
   *  connected, and the queue never holds more. */
  maxQueued?: number;
  onMessage?: (m: MessagePushFrame) => void;
  onEvent?: (e: EventFrame) => void;
  /** The `event` pushes onEvent is given: "all", or these (protocol §4.3.1). Default: "all" with an
   *  onEvent, none without one. The hello asks the broker for these and for what the client reads
   *  itself (`key_rotated`, which keeps `ack.mesh.keyEpoch` current: event-interest.ts), so that a
   *  client that reads no presence (a one-shot command, the MCP server) is sent none. */
  events?: EventChoice;
  /** What this machine saw the broker refuse within the hour (an older broker, refusal-memory.ts):
   *  on the first connection the hello leaves the `events` field out rather than be refused for it
   *  and said again, and the lookups are not asked (the whole lists are read); a later connection
   *  (a reconnect) asks again. */
  refusedLately?: readonly Refusable[];
  /** Each time the broker refuses one of those (broker-refusals.ts), as it happens. */
  onRefused?: (what: Refusable) => void;
  /** Each state change, after the client made it. An exception it throws is written to stderr and
   *  changes nothing the client does next. `failure`, when reconnecting after a socket that never
   *  opened: why, in broker-trouble.ts's words (a refused certificate, a refused connection); or
   *  after the broker refused the hello with an error frame: that refusal, in the broker's words. */
  onState?: (s: ClientState, detail: StateDetail) => void;
  /** Silence from the broker after which the client pings it (default: matched to the ping
   *  interval the socket's hello_ack states, livenessFor, at least 1 s; 40 s for a default broker,
   *  one that does not state it, and a socket before its hello_ack). */
  pingIdleMs?: number;
  /** Silence after that ping after which the link counts as dead: the client closes it and
   *  reconnects, or closes for good without `reconnect` (default: livenessFor, like pingIdleMs;
   *  10 s for a default broker). */
  pongTimeoutMs?: number;
  /** Longest from opening a socket to its hello_ack (default HANDSHAKE_TIMEOUT_MS, 15 s): a
   *  broker that takes the connection and never answers fails a command in seconds, not after the
   *  liveness watch's 50 s. */
  handshakeTimeoutMs?: number;
  /** For a session key that successive processes hold (the MCP server of a session started
   *  again): which of them holds it now, by local evidence (SessionHold). Absent: not known, and a
   *  4004 stays terminal. */
  sessionHold?: SessionHold;
  /** Extra random source for backoff (tests). */
  random?: () => number;
};
