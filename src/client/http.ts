// The HTTP calls of a client: the two a key makes before it is a member (creating a mesh and
// claiming an invite, both signed), and a hook's status with a presence's hook token. Errors come
// back as MeshError rebuilt from the broker's error body.
import { inviteClaimCanonical, requestCanonical } from "../protocol/canonical.ts";
import { MeshError, errorFromWire } from "../protocol/errors.ts";
import type { CreateMeshBodyT } from "../protocol/http-bodies.ts";
import type { MemberInfo } from "../protocol/results.ts";
import type { Status } from "../protocol/fields.ts";
import { sha256Hex } from "../crypto/hash.ts";
import { signDetached, type SigningKeypair } from "../crypto/sign.ts";
import { brokerBase } from "./broker-url.ts";
import { freshTimestamp } from "./credentials.ts";
import { connectionFailed, foreignAnswer, malformedAnswer, noAnswer, notABroker, notReady, olderBroker, strangeAnswer, unreachable } from "./broker-trouble.ts";
import { resultFault, type AnswerOf, type HttpAnswer, type Same } from "../protocol/result-schemas.ts";

export type MeshRecord = { id: string; slug: string; name: string; ownerPubkey: string; keyEpoch: number; createdAt: number };

/** The broker's http(s) base (brokerBase, src/client/broker-url.ts). Throws BrokerUrlError. */
export function httpBase(url: string): string {
  return brokerBase(url).base;
}

/** A fetch that threw (`cause`): no answer in time, a connection never made, or one that failed
 *  (broker-trouble.ts words them). Bun's own ("Is the computer able to access the url?") is kept
 *  as the cause. */
function transportError(cause: unknown, base: string, timeoutMs: number): MeshError {
  if ((cause as Error)?.name === "TimeoutError") return noAnswer(base, timeoutMs, cause);
  return unreachable(base, cause) ?? connectionFailed(base, cause);
}

/** Longest wait a Retry-After is believed for (a broker's words, shown to the user). */
const MAX_RETRY_AFTER_S = 24 * 3600;

/** `err` with the wait of the answer's Retry-After (whole seconds, as the broker sends it,
 *  protocol.md §6.1) as its retryAfterMs; `err` itself without one. */
function withRetryAfter(err: MeshError, header: string | null): MeshError {
  const s = header !== null && /^\d{1,6}$/.test(header.trim()) ? Number(header) : NaN;
  return s > 0 && s <= MAX_RETRY_AFTER_S ? new MeshError(err.code, err.message, { retryAfterMs: s * 1000 }) : err;
}

/** `method` `path` on the broker at `base`. An answer without a claudemesh body is said to come
 *  from no broker (or a proxy in trouble), and so does a 404 `not_found`, which these routes never
 *  answer themselves: the broker's "No such route" for a base URL with a path it does not serve.
 *  `answer`: the schema a successful answer is checked with (result-schemas.ts). */
async function call<T>(base: string, path: string, init: RequestInit & { method: string }, timeoutMs: number, answer?: HttpAnswer): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (cause) {
    throw transportError(cause, base, timeoutMs);
  }
  const text = await res.text();
  let body: any = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {}
  const error = body?.error;
  if (!res.ok) {
    // Only /health/ready answers this way: a broker up but not ready (draining, its database).
    if (res.status === 503 && body?.status === "not_ready") throw notReady(base, body.reason);
    if (typeof error?.code !== "string") throw foreignAnswer(base, res.status);
    if (res.status === 404 && error.code === "not_found") throw notABroker(base, "HTTP 404");
    throw olderBroker(base, withRetryAfter(errorFromWire(error), res.headers.get("retry-after")), `${init.method} ${path}`);
  }
  if (typeof body !== "object" || body === null) throw strangeAnswer(base, `HTTP ${res.status} with a body that is not JSON`);
  const fault = answer === undefined ? null : resultFault(answer, body);
  // `unavailable`: a call that may have been carried out (pending-enrolments.ts keeps its key).
  if (fault !== null) throw malformedAnswer(base, answer!, fault);
  return body as T;
}

/** Resolves when the broker answers GET `path` (/health: it runs; /health/ready: and can serve);
 *  rejects like any call when it cannot be reached, in broker-trouble.ts's words. */
export function brokerHealth(base: string, timeoutMs = 5_000, path: "/health" | "/health/ready" = "/health"): Promise<unknown> {
  return call(httpBase(base), path, { method: "GET" }, timeoutMs);
}

/** POST with the X-Claudemesh signature headers over the exact body bytes. */
export function signedPost<T>(base: string, path: string, body: unknown, keys: SigningKeypair, timeoutMs = 15_000, answer?: HttpAnswer): Promise<T> {
  const text = JSON.stringify(body);
  const ts = freshTimestamp(keys.publicKey);
  const signature = signDetached(requestCanonical("POST", path, ts, sha256Hex(text)), keys.secretKey);
  return call<T>(httpBase(base), path, {
    method: "POST",
    headers: { "content-type": "application/json", "x-claudemesh-pubkey": keys.publicKey, "x-claudemesh-timestamp": String(ts), "x-claudemesh-signature": signature },
    body: text,
  }, timeoutMs, answer);
}

export function createMesh(base: string, owner: SigningKeypair, body: Omit<CreateMeshBodyT, "ownerPubkey">, timeoutMs?: number): Promise<{ mesh: MeshRecord; member: MemberInfo }> {
  return signedPost(base, "/v1/meshes", { ...body, ownerPubkey: owner.publicKey }, owner, timeoutMs, "create_mesh");
}

export type ClaimResult = { mesh: MeshRecord; member: MemberInfo; keysBlob: string | null; members: MemberInfo[] };
// The schemas these answers are checked with say what these types say.
const agrees: [Same<AnswerOf<"create_mesh">, { mesh: MeshRecord; member: MemberInfo }>, Same<AnswerOf<"invite_claim">, ClaimResult>] = [true, true];
void agrees;

/** Enrolls `joiner` with an invite: the claim is signed by the invite key and the joiner key. */
export function claimInvite(base: string, input: { inviteId: string; meshId: string; inviteKeys: SigningKeypair; joiner: SigningKeypair; displayName: string }, timeoutMs = 15_000): Promise<ClaimResult> {
  const ts = freshTimestamp(input.joiner.publicKey);
  const canonical = inviteClaimCanonical(input.inviteId, input.joiner.publicKey, ts);
  const body = {
    meshId: input.meshId,
    pubkey: input.joiner.publicKey,
    displayName: input.displayName,
    timestamp: ts,
    inviteSignature: signDetached(canonical, input.inviteKeys.secretKey),
    signature: signDetached(canonical, input.joiner.secretKey),
  };
  return call<ClaimResult>(httpBase(base), `/v1/invites/${encodeURIComponent(input.inviteId)}/claim`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  }, timeoutMs, "invite_claim");
}

/** POST /hook/set-status with the hook token of a live presence (hello_ack): an automatic status
 *  change, which never replaces a dnd set by hand, where a `set_status` frame would (protocol.md
 *  §5.7, §6.5). Resolves with the status the presence has now. */
export function hookStatus(base: string, hookToken: string, status: Status, timeoutMs = 5_000): Promise<{ status: Status; online: boolean }> {
  return call(httpBase(base), "/hook/set-status", { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${hookToken}` }, body: JSON.stringify({ status }) }, timeoutMs);
}
