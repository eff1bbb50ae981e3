// The dashboard login link: `<broker>/#login=<base64url(JSON)>`. Everything is in the fragment,
// which a browser never sends to a server: no proxy log, Referer or link preview sees it, and
// fetching the URL consumes nothing. The page reads it, removes it from the address bar at once,
// posts `login` (§3.7, signed by the member key) to /v1/dashboard/login for a session cookie, and
// keeps `keys` in sessionStorage for what only the member can do: open and seal topic posts end to
// end, and (owners, admins) sign invites and seal the mesh keys in them.
// Built by `claudemesh dashboard`, read by web/; both go through this module.
import { dashboardLoginCanonical } from "../protocol/canonical.ts";
import { DASHBOARD_LINK_TTL_MS } from "../protocol/limits.ts";
import { fromBase64Url, toBase64Url } from "../crypto/encoding.ts";
import { signDetached } from "../crypto/sign.ts";
import { ID_RE, PUBKEY_RE, SECRET_KEY_RE, SIGNATURE_RE } from "../crypto/fields.ts";

/** The body of POST /v1/dashboard/login. */
export type DashboardLogin = { meshId: string; memberId: string; nonce: string; expiresAt: number; signature: string };

/** Key material for the page (optional: without it the page shows metadata only). */
export type PageKeys = {
  publicKey: string;
  secretKey: string;
  meshKeys: { epoch: number; key: string }[];
  /** What an invite link names: the broker as members reach it, and the mesh. */
  brokerUrl: string;
  slug: string;
  name: string;
  /** The mesh owner's key as the CLI recorded it at join: the page puts it in the invites it makes
   *  (`owner`, §11.5), so that their joiners need not take the broker's word for it. Absent in
   *  links from before it was added. */
  ownerPubkey?: string;
};

export type DashboardLinkPayload = { v: 1; login: DashboardLogin; keys?: PageKeys };

export const FRAGMENT_PREFIX = "#login=";

/** Signs a login for `member` and returns the link. `nonce` is a fresh id (8–64 of A-Z a-z 0-9 _ -);
 *  the link expires DASHBOARD_LINK_TTL_MS after `nowMs`. */
export function dashboardLink(
  member: { brokerUrl: string; meshId: string; memberId: string; secretKey: string },
  opts: { nonce: string; nowMs: number; keys?: PageKeys },
): { url: string; login: DashboardLogin } {
  const expiresAt = opts.nowMs + DASHBOARD_LINK_TTL_MS;
  const signature = signDetached(dashboardLoginCanonical(member.meshId, member.memberId, opts.nonce, expiresAt), member.secretKey);
  const login: DashboardLogin = { meshId: member.meshId, memberId: member.memberId, nonce: opts.nonce, expiresAt, signature };
  const payload: DashboardLinkPayload = { v: 1, login, ...(opts.keys ? { keys: opts.keys } : {}) };
  const fragment = toBase64Url(new TextEncoder().encode(JSON.stringify(payload)));
  return { url: `${member.brokerUrl.replace(/\/$/, "")}/${FRAGMENT_PREFIX}${fragment}`, login };
}

const str = (v: unknown, re: RegExp) => typeof v === "string" && re.test(v);

/** The payload of a `#login=…` fragment, or null when it is absent or malformed (the broker makes
 *  the real checks; this only keeps garbage out of the page). */
export function parseDashboardFragment(hash: string): DashboardLinkPayload | null {
  if (!hash.startsWith(FRAGMENT_PREFIX)) return null;
  let p: any;
  try {
    p = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(fromBase64Url(hash.slice(FRAGMENT_PREFIX.length))));
  } catch {
    return null;
  }
  const l = p?.login;
  const loginOk = p?.v === 1 && str(l?.meshId, ID_RE) && str(l?.memberId, ID_RE) && str(l?.nonce, ID_RE) && Number.isSafeInteger(l?.expiresAt) && str(l?.signature, SIGNATURE_RE);
  if (!loginOk) return null;
  const k = p.keys;
  const keysOk =
    k === undefined ||
    (str(k.publicKey, PUBKEY_RE) &&
      str(k.secretKey, SECRET_KEY_RE) &&
      Array.isArray(k.meshKeys) &&
      k.meshKeys.every((m: any) => Number.isSafeInteger(m?.epoch) && typeof m?.key === "string") &&
      typeof k.brokerUrl === "string" &&
      typeof k.slug === "string" &&
      typeof k.name === "string" &&
      (k.ownerPubkey === undefined || str(k.ownerPubkey, PUBKEY_RE)));
  if (!keysOk) return null;
  const login: DashboardLogin = { meshId: l.meshId, memberId: l.memberId, nonce: l.nonce, expiresAt: l.expiresAt, signature: l.signature };
  return { v: 1, login, ...(k ? { keys: { publicKey: k.publicKey, secretKey: k.secretKey, meshKeys: k.meshKeys.map((m: any) => ({ epoch: m.epoch, key: m.key })), brokerUrl: k.brokerUrl, slug: k.slug, name: k.name, ...(k.ownerPubkey === undefined ? {} : { ownerPubkey: k.ownerPubkey }) } } : {}) };
}
