// Invite links: `ic://join/<payload>` and `<broker>/join#<payload>` (the fragment is never sent to a
// server, so opening the https form in a browser does not hand the secret to the broker).
// payload = base64url(JSON). The link carries the v2 signature and a 32-byte secret from which the
// joiner derives the invite key (to claim) and the key of the sealed mesh keys (to read them).
import { inviteCanonical } from "../protocol/canonical.ts";
import { MeshError } from "../protocol/errors.ts";
import { fromBase64Url, toBase64Url } from "../crypto/encoding.ts";
import { verifyDetached } from "../crypto/sign.ts";
import { ID_RE, PUBKEY_RE, SIGNATURE_RE } from "../crypto/fields.ts";
import { decodeInviteSecret } from "../crypto/invite-secret.ts";

export type InvitePayload = {
  v: 2;
  broker: string;
  mesh: string;
  slug: string;
  name: string;
  invite: string;
  /** seconds since the epoch */
  exp: number;
  role: "member" | "admin";
  /** The issuing owner or admin key; the signature is by this key. */
  issuer: string;
  /** The mesh owner's key, the root of mesh-key trust (§11.5). Not signed, and it need not be:
   *  the link travels outside the broker with the secret that opens the mesh keys, so whoever
   *  can change the link can read the mesh anyway. Optional: older links lack it. */
  owner?: string;
  sig: string;
  /** base64url of the 32-byte invite secret. */
  s: string;
};

/** The `ic://join/…` link. No https form is made any more: it opened a page the broker serves,
 *  whose script can read the secret in the fragment (docs/decisions.md); `join` still reads one. */
export function encodeInvite(p: InvitePayload): string {
  return `ic://join/${toBase64Url(new TextEncoder().encode(JSON.stringify(p)))}`;
}

/** The pairs chat apps and mail clients put around a link they show or quote (`"…"`, `<…>`,
 *  typographic quotes): none of their characters can be part of a link. */
const WRAPPERS: readonly (readonly [string, string])[] = [['"', '"'], ["'", "'"], ["`", "`"], ["<", ">"], ["\u201c", "\u201d"], ["\u2018", "\u2019"], ["\u00ab", "\u00bb"]];

/** `text` without white space around it, and without one matching pair of WRAPPERS around that
 *  (and the white space inside it): a link pasted as `"ic://join/…"` or `<https://…>`. */
function unwrapped(input: string): string {
  const text = input.trim();
  const pair = WRAPPERS.find(([open, close]) => text.length > 2 && text.startsWith(open) && text.endsWith(close));
  return pair ? text.slice(pair[0].length, -pair[1].length).trim() : text;
}

function tokenOf(input: string): string {
  const text = unwrapped(input);
  if (text.startsWith("ic://join/")) return text.slice("ic://join/".length);
  const hash = text.indexOf("#");
  if (/^https?:\/\//.test(text) && hash > 0) return text.slice(hash + 1);
  return text;
}

/** A link that is not a well-formed invite at all (it does not decode, or a field is missing or
 *  malformed), as opposed to one that was altered or has expired: callers treat it as a usage
 *  error. Still `bad_invite` on the wire and in --json. */
export class MalformedInvite extends MeshError {
  constructor(message: string) {
    super("bad_invite", message);
  }
}

/** Parses a link and verifies, before contacting anyone, that it is well formed, signed by the
 *  issuer key it names, and not expired. Throws MalformedInvite, or MeshError bad_invite (altered) /
 *  invite_expired. */
export function parseInvite(input: string, nowMs = Date.now()): InvitePayload & { secret: Uint8Array } {
  let p: InvitePayload;
  try {
    p = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(fromBase64Url(tokenOf(input))));
  } catch {
    throw new MalformedInvite("This is not a claudemesh invite link (it could not be decoded). Copy the whole link.");
  }
  const fields: [keyof InvitePayload, (v: any) => boolean][] = [
    ["v", (v) => v === 2],
    ["broker", (v) => typeof v === "string" && /^(https?|wss?):\/\//.test(v)],
    ["mesh", (v) => typeof v === "string" && ID_RE.test(v)],
    ["slug", (v) => typeof v === "string" && v.length <= 48],
    ["name", (v) => typeof v === "string" && v.length <= 64],
    ["invite", (v) => typeof v === "string" && ID_RE.test(v)],
    ["exp", (v) => Number.isSafeInteger(v) && v > 0],
    ["role", (v) => v === "member" || v === "admin"],
    ["issuer", (v) => typeof v === "string" && PUBKEY_RE.test(v)],
    ["sig", (v) => typeof v === "string" && SIGNATURE_RE.test(v)],
    ["s", (v) => typeof v === "string"],
    ["owner", (v) => v === undefined || (typeof v === "string" && PUBKEY_RE.test(v))],
  ];
  for (const [k, ok] of fields) if (!ok((p as Record<string, unknown>)?.[k])) throw new MalformedInvite(`The invite link is damaged (field ${k}). Ask for a new one.`);
  if (!verifyDetached(p.sig, inviteCanonical(p.mesh, p.invite, p.exp, p.role, p.issuer), p.issuer)) {
    throw new MeshError("bad_invite", "The invite's signature does not verify: the link was altered. Ask for a new one.");
  }
  const secret = decodeInviteSecret(p.s);
  if (!secret) throw new MalformedInvite("The invite link is damaged (secret). Ask for a new one.");
  if (p.exp * 1000 <= nowMs) throw new MeshError("invite_expired", `This invite expired on ${new Date(p.exp * 1000).toISOString()}. Ask for a new one.`);
  return { ...p, secret };
}
