// WebSocket close codes. The range says what the client does next:
//   1000–1015  standard codes: reconnect with backoff (1008: fix the cause first, do not loop)
//   4000–4099  terminal: do not reconnect; tell the user.
//   4100–4199  transient: reconnect with backoff.

export const CloseCode = {
  /** Normal close, e.g. the client asked to leave. */
  normal: 1000,
  /** The broker is shutting down (drain); reconnect with backoff. */
  goingAway: 1001,
  /** A text frame that is not valid UTF-8 (closed by the WebSocket layer before the broker sees it). */
  invalidPayload: 1007,
  /** Authentication or policy failure; the reason string is an error code from errors.ts. */
  policy: 1008,
  /** The transport-level frame cap was exceeded (closed by the WebSocket layer before parsing). */
  tooBig: 1009,
  /** The broker hit an unexpected error; reconnect with backoff. */
  internal: 1011,
  /** The member was removed by an owner or admin. Terminal. */
  kicked: 4001,
  /** The member was banned. Terminal. */
  banned: 4002,
  /** The member left the mesh themselves. Terminal. */
  left: 4003,
  /** Another connection took over this session identity. Terminal for this socket. */
  sessionReplaced: 4004,
  /** The session ended for good (session_end); its mailbox is retired. Terminal. */
  sessionEnded: 4005,
  /** No pong within the liveness window; reconnect. */
  stale: 4100,
  /** The session attestation expired; reconnect with a fresh attestation. */
  attestationExpired: 4101,
} as const;

export type CloseCodeName = keyof typeof CloseCode;

/** Whether a client should reconnect (with backoff) after a close with this code. A 1008 is
 *  retried only when its reason is an error code the catalog marks retryable (capacity,
 *  unavailable, hello_timeout, rate_limited, internal); `isRetryable` supplies that lookup. */
export function shouldReconnect(code: number, reason = "", isRetryable: (reason: string) => boolean = () => false): boolean {
  if (code >= 4000 && code < 4100) return false;
  if (code === CloseCode.policy) return isRetryable(reason);
  return true;
}
