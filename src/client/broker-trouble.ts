// One vocabulary for a broker that could not be used, whichever transport met the trouble (the
// HTTP calls of `new` and `join`, the WebSocket of every other command): the same situation gets
// the same sentence and code, and names the broker by the base URL the user gave, never the
// internal `ws://…/ws`. Only the error table and the requests' labels and effects are imported, so
// http.ts and client.ts share it.
import { ERRORS, MeshError, type ErrorCode } from "../protocol/errors.ts";
import { REQUEST_EFFECT, type RequestType } from "../protocol/frames.ts";
import type { HttpAnswer } from "../protocol/result-schemas.ts";
import { requestFailed } from "./request-labels.ts";

/** A request that provably had no effect: its connection was never made, the TLS handshake
 *  failed, or what answered is not a claudemesh broker (or not at that path). A caller that saved
 *  state for the request (pending-enrolments.ts) may drop it; any other failure may have reached
 *  a broker. `words(true)` is the message, saying that nothing was sent (or done); `readOnly` is
 *  `words(false)`, the same sentence for a command that only reads the broker's health (`list`,
 *  `doctor`), which had nothing to send: there "nothing was sent" reads as if something had been
 *  meant to go. */
export class NotSentError extends MeshError {
  readonly readOnly: string;
  constructor(code: ErrorCode, words: (sent: boolean) => string, options?: { cause?: unknown }) {
    super(code, words(true), options);
    this.readOnly = words(false);
  }
}

/** The clause a sentence of NotSentError's ends its first part with, when it is said at all. */
const so = (sent: boolean) => (sent ? ", so nothing was sent" : "");

/** A connection attempt to a URL no connection can be made to (`why`: brokerBase's words, which
 *  quote it), as a config edited by hand can hold: a failed attempt like any other, never an
 *  exception. Its own class, so that it is not said as a broker that moved (move-hint.ts). */
export class UnusableUrlError extends NotSentError {
  constructor(readonly why: string) {
    super("unavailable", (sent) => `Cannot connect${so(sent)}: ${why}`);
  }
}

export const unusableUrl = (why: string): MeshError => new UnusableUrlError(why);

/** A transport error `code` (Bun's fetch and WebSocket errors) meaning the connection was never
 *  made, in words. A reset or a timeout may come after the request was sent, so they are not here. */
const NEVER_CONNECTED: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "its host name does not resolve",
  EAI_AGAIN: "its host name does not resolve",
  EHOSTUNREACH: "no route to its host",
  ENETUNREACH: "no route to its host",
};

/** Bun's code for a failed TLS handshake: mostly an https:// URL for a plain-http server. */
const TLS_FAILED = "EPROTO";

/** What to do about a CA this machine does not trust: Bun (the CLI's and `claudemesh mcp`'s
 *  runtime, compiled in) trusts its own copy of Mozilla's roots, plus the PEM file named by
 *  NODE_EXTRA_CA_CERTS, read at start (docs/operations.md, "Behind a reverse proxy"). */
const TRUST_HINT = "If it comes from a private CA, give that CA's certificate (PEM) in NODE_EXTRA_CA_CERTS, e.g. NODE_EXTRA_CA_CERTS=/path/to/ca.pem claudemesh …";

/** Where a broker's certificate is served: by the broker itself (its tlsCert) or by a proxy. */
const TLS_END = "the broker (its tlsCert) or the reverse proxy in front of it";

/** Bun's codes for a certificate the client refused during the handshake (OpenSSL's verify
 *  results by their Node names, and Node's host-name check), in words and with what to do. The
 *  handshake comes before any request, so nothing was sent. */
const untrusted = (why: string) => (sent: boolean) => `its TLS certificate is not trusted here (${why})${so(sent)}. ${TRUST_HINT}`;
const REFUSED_CERTIFICATE: Record<string, (sent: boolean) => string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: untrusted("unable to verify the first certificate"),
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: untrusted("its issuer is unknown"),
  UNABLE_TO_GET_ISSUER_CERT: untrusted("its issuer is unknown"),
  SELF_SIGNED_CERT_IN_CHAIN: untrusted("its chain ends in a CA this machine does not know"),
  DEPTH_ZERO_SELF_SIGNED_CERT: (sent) => `its TLS certificate is self-signed${so(sent)}. Give ${TLS_END} a certificate from a CA (Let's Encrypt, or a private CA whose certificate you put in NODE_EXTRA_CA_CERTS).`,
  CERT_HAS_EXPIRED: (sent) => `its TLS certificate has expired${so(sent)}. Renew it where TLS ends (${TLS_END}), or check this machine's clock.`,
  CERT_NOT_YET_VALID: (sent) => `its TLS certificate is not valid yet${so(sent)}. Check this machine's clock, and the certificate's start date.`,
  ERR_TLS_CERT_ALTNAME_INVALID: (sent) => `its TLS certificate is for another host name${so(sent)}. Use the broker URL with the name the certificate gives (the broker's publicUrl).`,
};

const codeOf = (cause: unknown) => (cause as { code?: unknown } | null)?.code;

/** Whether `err` is the refusal of a certificate for what it is (untrusted, self-signed, expired,
 *  not yet valid), whose message says what to do about it; not one for another host's name, which
 *  a URL with that name fixes. */
export function certificateItself(err: unknown): boolean {
  const code = codeOf((err as { cause?: unknown } | null)?.cause);
  return typeof code === "string" && Object.hasOwn(REFUSED_CERTIFICATE, code) && code !== "ERR_TLS_CERT_ALTNAME_INVALID";
}

/** The codes of a certificate from a CA this machine does not know: trusting that CA fixes them. */
const UNKNOWN_CA = new Set(["UNABLE_TO_VERIFY_LEAF_SIGNATURE", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "UNABLE_TO_GET_ISSUER_CERT", "SELF_SIGNED_CERT_IN_CHAIN"]);

/** What to do about a certificate refused for what it is (certificateItself), as a `fix:` line
 *  (doctor's), or null for any other error: trust an unknown CA here and where Claude Code starts
 *  its MCP server (which reads NODE_EXTRA_CA_CERTS when it starts), or, for a certificate that is
 *  self-signed, expired or not valid yet, have it replaced where TLS ends. */
export function certificateFix(err: unknown): string | null {
  if (!certificateItself(err)) return null;
  if (UNKNOWN_CA.has(codeOf((err as { cause?: unknown }).cause) as string)) {
    return "NODE_EXTRA_CA_CERTS=/path/to/ca.pem (the PEM certificate of the CA that issued the broker's) in this shell and in the environment Claude Code is started from, then claudemesh doctor again";
  }
  return `ask the broker's operator for a certificate from a CA that is valid now, served by ${TLS_END}; or correct this machine's clock`;
}

/** Why a fetch or WebSocket that failed never reached the server, in words ("connection
 *  refused"), if its error's code says so; null otherwise. */
function neverConnected(cause: unknown): string | null {
  const code = codeOf(cause);
  return typeof code === "string" && Object.hasOwn(NEVER_CONNECTED, code) ? NEVER_CONNECTED[code]! : null;
}

/** Nothing was sent because the connection or its TLS handshake failed, or the broker's
 *  certificate was refused (`unavailable`, exit 6); null when `cause` says none of these. */
export function unreachable(base: string, cause: unknown): NotSentError | null {
  const why = neverConnected(cause);
  if (why) return new NotSentError("unavailable", (sent) => `Cannot reach the broker at ${base} (${why})${sent ? ": nothing was sent" : ""}. Is it running, and is the URL right?`, { cause });
  const code = codeOf(cause);
  if (typeof code === "string" && Object.hasOwn(REFUSED_CERTIFICATE, code)) return new NotSentError("unavailable", (sent) => `Cannot reach the broker at ${base}: ${REFUSED_CERTIFICATE[code]!(sent)}`, { cause });
  if (code !== TLS_FAILED) return null;
  return new NotSentError("unavailable", (sent) => `Cannot reach the broker at ${base}: the TLS handshake failed${so(sent)}. Is the broker served over http:// rather than https://?`, { cause });
}

/** How a broker refuses a request carrying a field its schema does not have (every schema refuses
 *  unknown fields: docs/decisions.md, "Strict schemas"): over the WebSocket its codec's
 *  `invalid_frame` names the request type and the field's JSON pointer ("Invalid invite_create
 *  frame at /keySignature: Unexpected property."); over HTTP the route's `invalid_argument` names
 *  the pointer only ("Invalid request: /x: Unexpected property"). */
const UNKNOWN_FIELD = [/^Invalid (?<request>\w+) frame at (?<field>\/[\w/]*): Unexpected property\.$/i, /^Invalid request: (?<field>\/[\w/]*): Unexpected property$/i];

/** `err` from the broker at `base`, unless it refuses a field this client sent: this client's
 *  requests match its own schemas, which a broker of the same version shares, so such a refusal
 *  means the broker is older than this client and does not know the field. That is said as
 *  `unsupported_version` (exit 6, like any broker this CLI cannot use), naming the field and what
 *  to do, instead of an `invalid_frame` or `invalid_argument` that reads as the user's mistake
 *  (exit 2). The refusal came before the request was acted on: nothing was done (NotSentError).
 *  `request`: what the HTTP call was (its route), whose refusal does not name it. */
export function olderBroker(base: string, err: MeshError, request?: string): MeshError {
  const found = err.code === "invalid_frame" || err.code === "invalid_argument" ? UNKNOWN_FIELD.map((re) => re.exec(err.message)?.groups).find(Boolean) : undefined;
  if (!found) return err;
  const field = found.field!.slice(1).replaceAll("/", ".");
  const of = found.request ?? request;
  return new NotSentError(
    "unsupported_version",
    (sent) => `The broker at ${base} runs an older claudemesh than this one: it does not know the field "${field}"${of ? ` of ${of}` : ""}, which this version sends${sent ? ", so nothing was done" : ""}. Ask its operator to upgrade the broker (docs/operations.md, "Upgrading"); until then use a claudemesh no newer than the broker's.`,
    { cause: err },
  );
}

const withCause = (cause: unknown) => (cause === undefined ? undefined : { cause });

/** A broker's answer to a request that is not of the shape docs/protocol.md §4.3 gives it
 *  (result-schemas.ts): none of it was used. Its own class so that a caller with another way to
 *  the same facts (lookups.ts: the whole lists) can take that way instead. `unavailable` (exit 6),
 *  as strangeAnswer: this broker cannot be used for the request. A `send` so answered may have
 *  been stored (its SendError says how to retry). */
export class MalformedAnswerError extends MeshError {}

/** The HTTP calls whose answers are checked (http.ts): what failed, and the route. */
const HTTP_CALLS: Record<HttpAnswer, { failed: string; route: string }> = {
  create_mesh: { failed: "Creating the mesh failed", route: "POST /v1/meshes" },
  invite_claim: { failed: "Joining the mesh failed", route: "POST /v1/invites/…/claim" },
};

/** The broker at `base` answered a `request` (or an HTTP call) with `fault` (result-schemas.ts's
 *  words). A change it answered was most likely made (a broker answers once it is): said, so that
 *  "failed" is not read as "not done" (a kick, a revoked invite). A send's SendError and the HTTP
 *  calls' callers (pending-enrolments.ts) say it their own way. */
export function malformedAnswer(base: string, request: RequestType | "ack" | HttpAnswer, fault: string): MalformedAnswerError {
  const why = (name: string) => `the broker at ${base} sent a malformed ${name} answer: ${fault}. Nothing in it was used. That broker runs another claudemesh version than this one, or is faulty or modified: tell its operator.`;
  const http = Object.hasOwn(HTTP_CALLS, request) ? HTTP_CALLS[request as HttpAnswer] : null;
  if (http) return new MalformedAnswerError("unavailable", `${http.failed}: ${why(http.route)}`);
  const made = request !== "ack" && REQUEST_EFFECT[request as RequestType] === "change" ? " It may have been carried out all the same: check before doing it again." : "";
  return new MalformedAnswerError("unavailable", requestFailed(request as RequestType | "ack", why(request)) + made);
}

/** A reset of an http:// connection: how a broker serving TLS itself (tlsCert) meets plain HTTP,
 *  and so how a mesh saved with a broker's plain address meets that broker once it serves TLS on
 *  the same port (a move: move-hint.ts). Not a NotSentError: a plain-HTTP broker that died during
 *  the request resets it the same way, after the request may have reached it. */
export class PlainToTlsPortError extends MeshError {}

/** The connection was made (a request may have reached the broker), then failed without an answer.
 *  A reset of an http:// one is also how a broker serving TLS itself (tlsCert) meets plain HTTP:
 *  Bun's TLS port closes it without a word, where a proxy answers 400 (plainToTls). */
export const connectionFailed = (base: string, cause?: unknown) => {
  const prefix = `The connection to the broker at ${base} failed before it answered. Is it running, and is the URL right?`;
  if (!(base.startsWith("http://") && codeOf(cause) === "ECONNRESET")) return new MeshError("unavailable", prefix, withCause(cause));
  return new PlainToTlsPortError("unavailable", `${prefix} (A broker that serves TLS itself closes plain http:// connections so: if it does, use ${base.replace(/^http:/, "https:")}.)`, withCause(cause));
};

/** The broker said it is shutting down (a close with 1001 "going away", sent to every connection
 *  when it drains after SIGTERM): a restart, an upgrade or a stop, which only the operator knows.
 *  Its own class so that a caller whose retry then cannot reach the broker reports this cause
 *  rather than a bare "connection refused". */
export class GoingAwayError extends MeshError {}

/** A connect the broker closed with 1001 before it was set up: no command went out. */
export const goingAway = (base: string) =>
  new GoingAwayError("unavailable", `The broker at ${base} is shutting down or restarting (it closed the connection: 1001 going away), so nothing was sent. Retry in a moment.`);

const duration = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`);

/** The broker took the connection, then said nothing for `ms`. */
export const noAnswer = (base: string, ms: number, cause?: unknown) => new MeshError("timeout", `The broker at ${base} did not answer within ${duration(ms)}.`, withCause(cause));

/** A WebSocket without a hello_ack after `ms` (a silent server, or a path that drops the broker's
 *  answers, its SYN-ACK included): a client sends its requests only after hello_ack, so none went
 *  out, and a `send` may be given again without a duplicate. */
export const handshakeUnanswered = (base: string, ms: number) => new NotSentError("timeout", (sent) => `The broker at ${base} did not answer within ${duration(ms)}${so(sent)}.`);

/** What to do about a URL that reached the wrong thing: a base with a path most likely carries
 *  one too many (a page or route of the broker), else the URL is wrong altogether. */
function urlHint(base: string): string {
  const u = new URL(base);
  return u.pathname !== "/" ? `give the broker's base URL, without the path (like ${u.origin}).` : "is the URL right?";
}

/** What answered at `base` is no claudemesh broker (`answer`: "HTTP 501"), so nothing was done.
 *  A broker's 404 for a base URL with a path it does not serve is said this way too: the
 *  WebSocket gets no body to tell the two apart, and either way that URL is no broker's. */
export const notABroker = (base: string, answer: string) =>
  new NotSentError("unavailable", (sent) => `${base} is not a claudemesh broker (it answered ${answer})${sent ? ": nothing was done" : ""}; ${urlHint(base)}`);

/** A status a proxy gives when the broker behind it is down or slow (and a draining broker's
 *  503): the request may have reached the broker (504), so these are not `notABroker`. */
const BUSY = new Set([502, 503, 504]);

const busy = (base: string, status: number) =>
  new MeshError("unavailable", `The broker at ${base} answered HTTP ${status}: it is shutting down or busy, or a proxy in front of it cannot reach it. Retry in a while.`);

/** Why a broker's /health/ready answered 503 (docs/operations.md), in words; any other reason is
 *  not a claudemesh broker's, and is not echoed. */
const NOT_READY: Record<string, string> = {
  draining: "it is shutting down",
  db_unwritable: "it cannot write its database",
  migration_mismatch: "its database schema is not the version it expects",
};

/** A broker that runs but said it is not ready (`reason`: its /health/ready body's); `busy` for a
 *  reason no broker gives. */
export const notReady = (base: string, reason: unknown): MeshError =>
  reason === "draining"
    ? new MeshError("unavailable", `The broker at ${base} is shutting down or restarting (its /health/ready says draining). Retry in a moment.`)
    : typeof reason === "string" && Object.hasOwn(NOT_READY, reason)
      ? new MeshError("unavailable", `The broker at ${base} runs but is not ready: ${NOT_READY[reason]}. Retry in a while; its log says more.`)
      : busy(base, 503);

/** Statuses with which a server says it serves no such route or method: whatever gave them acted
 *  on nothing. Any other answer may come from a proxy after the broker committed the request (a
 *  CDN's 520 when the origin reset after its commit), so it must not count as never sent: an
 *  enrolment forgets its key on that (pending-enrolments.ts). */
const NOT_SERVED = new Set([404, 405, 501]);

/** An answer no claudemesh broker gives, of which nothing proves the request was not acted on. */
export const strangeAnswer = (base: string, answer: string) =>
  new MeshError("unavailable", `${base} answered ${answer}, which no claudemesh broker gives: a proxy in front of it may have failed after passing the request on, or the URL is not a broker's; check the URL.`);

/** A 400 without a claudemesh body to an http:// URL: what a TLS port answers a plain-HTTP request
 *  (nginx: "The plain HTTP request was sent to HTTPS port"; Caddy and Go: "Client sent an HTTP
 *  request to an HTTPS server") before it reads one, so nothing was done, and the same command
 *  run again meets the same answer: the URL wants https://. (A broker's own 400s carry its error
 *  body, and a proxy refuses a request it cannot read before passing it on.) */
const plainToTls = (base: string) =>
  new NotSentError("unavailable", (sent) => `${base} answered HTTP 400${sent ? ": nothing was done" : ""}. That is how a TLS port (a reverse proxy's https) answers plain http://: if the broker is served over https there, use ${base.replace(/^http:/, "https:")}.`);

/** An HTTP error status without a claudemesh error body; `other`, what any other status means. */
export const foreignAnswer = (base: string, status: number, other = () => strangeAnswer(base, `HTTP ${status}`)): MeshError =>
  BUSY.has(status) ? busy(base, status) : NOT_SERVED.has(status) ? notABroker(base, `HTTP ${status}`) : status === 400 && base.startsWith("http://") ? plainToTls(base) : other();

/** The broker's own refusals of a WebSocket upgrade (docs/protocol.md §2.1), by status; 503 is
 *  `busy`. Bun's client does not give the body, so the status is all there is. */
const UPGRADE_REFUSALS: Record<number, ErrorCode> = { 403: "forbidden", 426: "invalid_argument", 429: "too_many_connections" };

/** What a WebSocket that failed before it opened means: Bun's error event carries the transport
 *  error (with its `code`) or, for an answer other than 101, only a message naming the status. */
export function socketFailure(base: string, ev: Event): MeshError {
  const { error, message = "" } = ev as Event & { error?: unknown; message?: string };
  const unsent = unreachable(base, error);
  if (unsent) return unsent;
  const status = Number(/Expected 101 status code: (\d{3})/.exec(message)?.[1]);
  if (!status) return connectionFailed(base, error ?? message);
  const code = UPGRADE_REFUSALS[status];
  if (code) return new MeshError(code, `The broker at ${base} refused the connection (HTTP ${status}): ${ERRORS[code].doc}`);
  // Nothing is sent before the socket opens: whatever answered, nothing was done.
  return foreignAnswer(base, status, () => new NotSentError("unavailable", (sent) => `${base} answered HTTP ${status} instead of opening a WebSocket${sent ? ": nothing was sent" : ""}; is it a claudemesh broker's URL?`));
}
