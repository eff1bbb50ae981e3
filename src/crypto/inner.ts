// The inner payload: the plaintext inside every encrypted message. It names the mesh, sender,
// target and message id, so a broker that re-routes a ciphertext is caught when the recipient
// compares them with the push (reliability.md §1.1, "context binding").
//
// Encoding: UTF-8 of JSON.stringify with the keys in exactly this order, optional keys omitted:
//   {"v":1,"mesh","from","to","id","ts","kind","body","replyTo"?,"att"?:{"sessionPubkey",
//    "parentMemberPubkey","expiresAt","signature"}}
// A parsed payload is accepted only if re-encoding it gives back the same text, which rejects
// duplicate keys, extra keys, other key orders and other escapings (conservative: one encoding).
import type { SessionAttestation } from "./attestation.ts";
import { ID_RE, PUBKEY_RE, SIGNATURE_RE, isTarget, isTimestampMs } from "./fields.ts";
import { utf8 } from "./encoding.ts";

export const INNER_VERSION = 1;
/** Largest body, in UTF-8 bytes. */
export const MAX_BODY_BYTES = 64 * 1024;
/** Largest inner JSON, in UTF-8 bytes: any valid body fits even when every byte is a control
 *  character that JSON escapes to 6 bytes, plus 4 KiB for the other fields. */
export const MAX_INNER_BYTES = 6 * MAX_BODY_BYTES + 4 * 1024;

/** text: shown; ask: shown, and the sender waits for a reply (replyTo = this message);
 *  keys: mesh keys; system: control requests such as a key request. */
export type InnerKind = "text" | "ask" | "keys" | "system";
export type Inner = {
  v: 1;
  /** Mesh id. */
  mesh: string;
  /** The sender's identity key (member or session), 64 hex. */
  from: string;
  /** Recipient key (64 hex), `*`, `@group` or `#topic`. */
  to: string;
  /** The client message id, also the replay-guard key. */
  id: string;
  /** Sender's clock, ms since the epoch. */
  ts: number;
  kind: InnerKind;
  body: string;
  replyTo?: string;
  /** Present when the sender is a session: lets recipients check the session → member binding. */
  att?: SessionAttestation;
};
export type InnerFields = Omit<Inner, "v">;

const KINDS: readonly string[] = ["text", "ask", "keys", "system"];
// TextEncoder rather than Buffer: this module also runs in the dashboard page.
const byteLength = (s: string): number => utf8(s).length;

function attProblem(a: unknown): string | null {
  if (typeof a !== "object" || a === null || Array.isArray(a)) return "att must be an object";
  const o = a as Record<string, unknown>;
  if (typeof o.sessionPubkey !== "string" || !PUBKEY_RE.test(o.sessionPubkey)) return "att.sessionPubkey";
  if (typeof o.parentMemberPubkey !== "string" || !PUBKEY_RE.test(o.parentMemberPubkey)) return "att.parentMemberPubkey";
  if (!isTimestampMs(o.expiresAt)) return "att.expiresAt";
  if (typeof o.signature !== "string" || !SIGNATURE_RE.test(o.signature)) return "att.signature";
  return null;
}

/** The first invalid field of a would-be payload, or null if every field is well formed. */
function fieldsProblem(f: Record<string, unknown>): string | null {
  if (typeof f.mesh !== "string" || !ID_RE.test(f.mesh)) return "mesh";
  if (typeof f.from !== "string" || !PUBKEY_RE.test(f.from)) return "from";
  if (typeof f.to !== "string" || !isTarget(f.to)) return "to";
  if (typeof f.id !== "string" || !ID_RE.test(f.id)) return "id";
  if (!isTimestampMs(f.ts)) return "ts";
  if (typeof f.kind !== "string" || !KINDS.includes(f.kind)) return "kind";
  if (typeof f.body !== "string" || byteLength(f.body) > MAX_BODY_BYTES) return "body";
  if (f.replyTo !== undefined && (typeof f.replyTo !== "string" || !ID_RE.test(f.replyTo))) return "replyTo";
  if (f.att !== undefined) return attProblem(f.att);
  return null;
}

function serialise(f: InnerFields): string {
  const { mesh, from, to, id, ts, kind, body, replyTo, att } = f;
  const inner: Record<string, unknown> = { v: INNER_VERSION, mesh, from, to, id, ts, kind, body };
  if (replyTo !== undefined) inner.replyTo = replyTo;
  if (att !== undefined) {
    inner.att = { sessionPubkey: att.sessionPubkey, parentMemberPubkey: att.parentMemberPubkey, expiresAt: att.expiresAt, signature: att.signature };
  }
  return JSON.stringify(inner);
}

/** The one encoder of inner payloads. Throws TypeError naming the first invalid field, or if the
 *  result would exceed MAX_INNER_BYTES; the caller reports it and sends nothing. */
export function encodeInner(fields: InnerFields): string {
  const problem = fieldsProblem(fields as unknown as Record<string, unknown>);
  if (problem) throw new TypeError(`invalid message field: ${problem}`);
  const json = serialise(fields);
  if (byteLength(json) > MAX_INNER_BYTES) throw new TypeError("message too large");
  return json;
}

/** The payload if `json` is exactly what encodeInner would produce for valid fields, else null.
 *  Never throws. */
export function parseInner(json: string): Inner | null {
  if (byteLength(json) > MAX_INNER_BYTES) return null;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const o = value as Record<string, unknown>;
  if (o.v !== INNER_VERSION || fieldsProblem(o) !== null) return null;
  // Re-encoding proves the exact key set, order and escaping in one comparison.
  if (serialise(o as unknown as InnerFields) !== json) return null;
  return o as unknown as Inner;
}
