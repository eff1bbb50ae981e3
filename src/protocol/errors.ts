// The error catalog: every error the broker can put on the wire, as data.
// Each edge maps a code once: WS → `error` frame or close reason, HTTP → status + JSON body,
// CLI → one line + exit code, MCP → tool result with isError. docs/protocol.md lists the same
// table; test/unit/protocol-catalog.test.ts checks that the two agree.

/** CLI exit codes, shared by every command. */
export const Exit = {
  ok: 0,
  internal: 1,
  usage: 2,
  auth: 3,
  notFound: 4,
  refused: 5,
  unavailable: 6,
  limited: 7,
} as const;

export type ErrorSpec = {
  /** HTTP status when the error answers an HTTP request. */
  http: number;
  /** True when the same request may succeed later without changes (back off, then retry). */
  retryable: boolean;
  /** CLI exit code. */
  exit: number;
  /** What it means and what the client should do. */
  doc: string;
};

const spec = (http: number, retryable: boolean, exit: number, doc: string): ErrorSpec => ({ http, retryable, exit, doc });

export const ERRORS = {
  // Handshake (close 1008 with the code as reason).
  timestamp_skew: spec(401, false, Exit.auth, "The hello timestamp is more than 60 s from the broker clock. Fix the client clock (NTP) and reconnect."),
  malformed: spec(400, false, Exit.usage, "A key, signature or id has the wrong shape (pubkey 64 hex, signature 128 hex). Fix the client."),
  bad_signature: spec(401, false, Exit.auth, "The signature does not verify over the canonical string. The client signed different bytes or holds another key."),
  unauthorized: spec(401, false, Exit.auth, "The key is not an active member of this mesh. Join with an invite, or check the mesh id."),
  replayed: spec(401, false, Exit.auth, "This exact signed hello or request was already used. Sign a fresh one with a new timestamp."),
  revoked: spec(403, false, Exit.auth, "This member was removed from the mesh. Ask an owner or admin for a new invite."),
  bad_attestation: spec(401, false, Exit.auth, "The session attestation does not verify against the parent member key, or names another session key."),
  expired: spec(401, false, Exit.auth, "The session attestation has expired. Mint a new one and reconnect."),
  ttl_too_long: spec(400, false, Exit.usage, "The session attestation is valid for more than 24 hours. Mint one with a shorter expiry."),
  hello_timeout: spec(408, true, Exit.unavailable, "No hello arrived within the broker's helloTimeout (10 s by default) of connecting. Send the hello first."),
  no_hello: spec(401, false, Exit.usage, "A request arrived before a successful hello. Send hello or session_hello first."),
  unsupported_version: spec(400, false, Exit.unavailable, "The client and the broker are of different versions: a newer protocol version than the broker's, or a request without a field the broker now requires. Upgrade the side the message names."),
  already_hello: spec(400, false, Exit.usage, "A second hello arrived on an authenticated socket. Open a new connection instead."),
  capacity: spec(503, true, Exit.limited, "The mesh has reached its connection limit (or the member its session limit). Retry later or ask the operator to raise it."),
  too_many_connections: spec(429, true, Exit.limited, "Too many connections from this address. Close idle ones or ask the operator to raise the limit."),

  // Framing (error frame; the socket stays open).
  frame_too_large: spec(413, false, Exit.usage, "The frame exceeds the broker's maxFrameBytes (64 KiB by default; hello_ack.limits.maxFrameBytes gives the value in force), or an HTTP request body exceeds 1 MiB. Send a shorter message."),
  too_deep: spec(400, false, Exit.usage, "The JSON nests deeper than 32 levels. No valid frame does; fix the client."),
  invalid_json: spec(400, false, Exit.usage, "The frame is not valid JSON text."),
  invalid_frame: spec(400, false, Exit.usage, "The frame does not match its schema; the message names the field."),
  unknown_type: spec(400, false, Exit.usage, "The frame type is unknown to this broker. Upgrade the broker or the client."),

  // Requests.
  rate_limited: spec(429, true, Exit.limited, "This member is sending faster than its rate limit. Back off and retry."),
  quota_exceeded: spec(507, true, Exit.limited, "A queue bound is reached: the recipient's queue is full, or your share of it, or the mesh or the broker holds as many undelivered messages as it may (the message says which). Retry after recipients have read their messages."),
  unknown_recipient: spec(404, false, Exit.notFound, "No active member or session of this mesh has that key, group or topic."),
  not_found: spec(404, false, Exit.notFound, "The named mesh, member, invite or topic does not exist."),
  method_not_allowed: spec(405, false, Exit.usage, "The HTTP route exists, but not with this method; the Allow header lists the methods it takes."),
  forbidden: spec(403, false, Exit.auth, "Your role does not allow this (owner or admin needed), or you are not a member of that topic."),
  conflict: spec(409, false, Exit.refused, "It already exists (mesh id or slug, topic, invite id). Pick another name or id."),
  invalid_argument: spec(400, false, Exit.usage, "A value is out of range or inconsistent; the message says which."),
  invalid_name: spec(400, false, Exit.usage, "A display name or mesh name holds what names may not (control, invisible or text-direction characters, white space at either end; in a display name also \":\" or \"/\", or a leading \"#\" or \"@\"); the message says the rule. Choose another name."),
  page_key_required: spec(401, false, Exit.auth, "A dashboard cookie came without its session's page key (X-Dashboard-Page-Key, from the login answer). Send the key with the cookie, or log in again."),
  history_lost: spec(410, false, Exit.refused, "The requested topic offsets are no longer retained. Resume from the earliest offset given."),

  // Invites.
  invite_not_found: spec(404, false, Exit.notFound, "No such invite on this broker. Check the link and the broker URL."),
  invite_expired: spec(410, false, Exit.refused, "The invite has expired. Ask for a new one."),
  invite_revoked: spec(410, false, Exit.refused, "The invite was revoked. Ask for a new one."),
  invite_exhausted: spec(410, false, Exit.refused, "The invite has been used as many times as allowed. Ask for a new one."),
  bad_invite: spec(400, false, Exit.refused, "The invite's signature or fields do not verify. The link was altered or truncated."),

  // Transport and server.
  unavailable: spec(503, true, Exit.unavailable, "The broker is shutting down, its database is unavailable, or it was restored a moment ago without the replay memory it had (§2.5). Retry with backoff."),
  timeout: spec(504, true, Exit.unavailable, "No reply arrived in time. The request may or may not have taken effect; retry idempotently."),
  internal: spec(500, true, Exit.internal, "The broker hit an unexpected error. It was logged; retry, and report it if it repeats."),
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERRORS, code);
}

/** The one error type of the protocol. Domain code throws it; each edge serialises it once.
 *  `message` is safe to show to the remote party; put private detail in `cause`. */
export class MeshError extends Error {
  override readonly name = "MeshError";
  /** When known (a rate limit), how long until the same request may succeed, in ms: HTTP answers
   *  say it as `Retry-After` (whole seconds, at least 1); it is not part of the wire form. */
  readonly retryAfterMs: number | undefined;
  /** For `rate_limited`, the broker's limit that refused (send, status, change, frames, unsent): the
   *  `limit` label of broker_messages_rejected_total. Not part of the wire form. */
  readonly limit: string | undefined;
  constructor(
    readonly code: ErrorCode,
    message?: string,
    options?: { cause?: unknown; retryAfterMs?: number; limit?: string },
  ) {
    super(message ?? ERRORS[code].doc, options);
    this.retryAfterMs = options?.retryAfterMs;
    this.limit = options?.limit;
  }
  get spec(): ErrorSpec {
    return ERRORS[this.code];
  }
  get retryable(): boolean {
    return ERRORS[this.code].retryable;
  }
  /** The wire form used in `error` frames and HTTP error bodies. */
  toJSON(): { code: ErrorCode; message: string; retryable: boolean } {
    return { code: this.code, message: this.message, retryable: this.retryable };
  }
}

/** Rebuilds a MeshError from its wire form (client side). Unknown codes become `internal`. */
export function errorFromWire(e: { code: string; message?: string }): MeshError {
  return isErrorCode(e.code) ? new MeshError(e.code, e.message) : new MeshError("internal", `${e.code}: ${e.message ?? ""}`);
}
