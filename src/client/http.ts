// The two HTTP calls a key makes before it is a member: creating a mesh and claiming an invite.
// Both are signed; errors come back as MeshError rebuilt from the broker's error body.
import { inviteClaimCanonical, requestCanonical } from "../protocol/canonical.ts";
import { MeshError, errorFromWire } from "../protocol/errors.ts";
import type { CreateMeshBodyT } from "../protocol/http-bodies.ts";
import type { MemberInfo } from "../protocol/results.ts";
import { sha256Hex } from "../crypto/hash.ts";
import { signDetached, type SigningKeypair } from "../crypto/sign.ts";
import { brokerBase } from "./broker-url.ts";
import { freshTimestamp } from "./credentials.ts";

export type MeshRecord = { id: string; slug: string; name: string; ownerPubkey: string; keyEpoch: number; createdAt: number };

/** The broker's http(s) base (brokerBase, src/client/broker-url.ts). Throws BrokerUrlError. */
export function httpBase(url: string): string {
  return brokerBase(url).base;
}

/** A request that provably never left this machine (its connection was never made), so the broker
 *  saw nothing of it: code "unavailable" like any unreachable broker. A caller that saved state
 *  for the request (pending-enrolments.ts) may drop it; any other failure may have reached it. */
export class NotSentError extends MeshError {}

/** The `code` of Bun's fetch error when the connection was never made: the name did not resolve
 *  (ENOTFOUND, EAI_AGAIN), nothing listens (ECONNREFUSED), no route. A reset or a timeout may come
 *  after the request was sent, so they are not here. */
const NEVER_CONNECTED: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "its host name does not resolve",
  EAI_AGAIN: "its host name does not resolve",
  EHOSTUNREACH: "no route to its host",
  ENETUNREACH: "no route to its host",
};

/** Why a fetch that threw never reached the server, in words ("connection refused"), if its code
 *  says so; null otherwise. */
export function neverConnected(cause: unknown): string | null {
  const code = (cause as { code?: unknown })?.code;
  return typeof code === "string" && Object.hasOwn(NEVER_CONNECTED, code) ? NEVER_CONNECTED[code]! : null;
}

/** The MeshError for a fetch that threw (`cause`): a timeout, a connection never made, or another
 *  failure of the transport. */
function transportError(cause: unknown, url: string, timeoutMs: number): MeshError {
  // The same words as the WebSocket client's; Bun's own ("Is the computer able to access the
  // url?") is kept as the cause.
  const origin = new URL(url).origin;
  if ((cause as Error)?.name === "TimeoutError") return new MeshError("timeout", `The broker at ${origin} did not answer within ${Math.round(timeoutMs / 1000)} s.`, { cause });
  const why = neverConnected(cause);
  if (why) return new NotSentError("unavailable", `Cannot reach the broker at ${origin} (${why}): nothing was sent. Is it running, and is the URL right?`, { cause });
  return new MeshError("unavailable", `Cannot reach the broker at ${origin} (is it running, and is the URL right?).`, { cause });
}

async function call<T>(url: string, init: RequestInit, timeoutMs: number): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (cause) {
    throw transportError(cause, url, timeoutMs);
  }
  const text = await res.text();
  let body: any = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {}
  if (!res.ok) throw body?.error?.code ? errorFromWire(body.error) : new MeshError("internal", `HTTP ${res.status} from the broker.`);
  return body as T;
}

/** Resolves when the broker answers GET /health; rejects like any call when it cannot be reached. */
export function brokerHealth(base: string, timeoutMs = 5_000): Promise<unknown> {
  return call(`${httpBase(base)}/health`, { method: "GET" }, timeoutMs);
}

/** POST with the X-Claudemesh signature headers over the exact body bytes. */
export function signedPost<T>(base: string, path: string, body: unknown, keys: SigningKeypair, timeoutMs = 15_000): Promise<T> {
  const text = JSON.stringify(body);
  const ts = freshTimestamp(keys.publicKey);
  const signature = signDetached(requestCanonical("POST", path, ts, sha256Hex(text)), keys.secretKey);
  return call<T>(`${httpBase(base)}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-claudemesh-pubkey": keys.publicKey, "x-claudemesh-timestamp": String(ts), "x-claudemesh-signature": signature },
    body: text,
  }, timeoutMs);
}

export function createMesh(base: string, owner: SigningKeypair, body: Omit<CreateMeshBodyT, "ownerPubkey">): Promise<{ mesh: MeshRecord; member: MemberInfo }> {
  return signedPost(base, "/v1/meshes", { ...body, ownerPubkey: owner.publicKey }, owner);
}

export type ClaimResult = { mesh: MeshRecord; member: MemberInfo; keysBlob: string | null; members: MemberInfo[] };

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
  return call<ClaimResult>(`${httpBase(base)}/v1/invites/${encodeURIComponent(input.inviteId)}/claim`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  }, timeoutMs);
}
