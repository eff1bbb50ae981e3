// Dashboard login: `claudemesh dashboard` signs §3.7 with the member key; the page posts it once and
// gets a session cookie. Checks, in order: not expired and at most DASHBOARD_LINK_TTL_MS ahead
// (plus the usual clock skew); the member exists; the signature is by that member's key; the member
// is still active; the signature was never used (the replay table shared with hellos). Before any
// of that, logins are throttled per client address (LOGIN_RATE_PER_SEC, LOGIN_BURST).
import { dashboardLoginCanonical } from "../protocol/canonical.ts";
import { MeshError } from "../protocol/errors.ts";
import type { DashboardLoginBodyT } from "../protocol/http-bodies.ts";
import { DASHBOARD_LINK_TTL_MS, HELLO_SKEW_MS } from "../protocol/limits.ts";
import { verifyDetached } from "../crypto/sign.ts";
import type { Member } from "../store/types.ts";
import type { BrokerContext } from "./context.ts";
import { AddressThrottle } from "./address-throttle.ts";

/** Dashboard logins (member links and operator tokens, failed ones too) per client address: a
 *  burst of 30, then one every 6 s. A person signs in a few times a day, an office behind one NAT
 *  a few dozen times in a morning; one address can open at most ~4,800 sessions in a session's
 *  8-hour life, which per-mesh caps then confine to the attacker's own meshes. */
export const LOGIN_BURST = 30;
export const LOGIN_RATE_PER_SEC = 1 / 6;
/** Per-address throttle of dashboard logins (and operator token attempts); `trustedProxies` is
 *  read at each login (those in force). */
export const loginThrottle = (trustedProxies: () => readonly string[], clock?: () => number) =>
  new AddressThrottle({ ratePerSec: LOGIN_RATE_PER_SEC, burst: LOGIN_BURST, refused: "Too many dashboard logins from this address; wait a few seconds and try again.", trustedProxies }, clock);

const NEW_LINK = "Run `claudemesh dashboard` for a new link.";

/** The member a login link speaks for. Throws MeshError expired, ttl_too_long, unauthorized,
 *  bad_signature, revoked or replayed; nothing is recorded unless every check passed. */
export async function verifyDashboardLogin(ctx: BrokerContext, body: DashboardLoginBodyT): Promise<Member> {
  const now = ctx.now();
  if (body.expiresAt <= now) throw new MeshError("expired", `This dashboard link has expired. ${NEW_LINK}`);
  if (body.expiresAt > now + DASHBOARD_LINK_TTL_MS + HELLO_SKEW_MS) throw new MeshError("ttl_too_long", "A dashboard link may be valid for at most 5 minutes.");
  const member = await ctx.store.getMember(body.meshId, body.memberId);
  if (!member) throw new MeshError("unauthorized", "This link names no member of that mesh.");
  const canonical = dashboardLoginCanonical(body.meshId, body.memberId, body.nonce, body.expiresAt);
  if (!verifyDetached(body.signature, canonical, member.pubkey)) throw new MeshError("bad_signature", "The link is not signed by that member's key.");
  if (member.revokedAt !== null) throw new MeshError("revoked", "This member was removed from the mesh; it cannot open the dashboard.");
  // It passes the checks above from expiresAt - DASHBOARD_LINK_TTL_MS - HELLO_SKEW_MS on.
  const use = await ctx.store.rememberSignature(body.signature, body.expiresAt + 1000, body.expiresAt - DASHBOARD_LINK_TTL_MS - HELLO_SKEW_MS);
  if (use === "replayed") throw new MeshError("replayed", `This dashboard link was already used. ${NEW_LINK}`);
  // Its time already passed on the broker clock, which was set back since (protocol.md §8.3).
  if (use === "forgotten") throw new MeshError("expired", `This dashboard link has expired. ${NEW_LINK}`);
  // It may have been used before a restore that could not carry the replay memory (§2.5); a link
  // made a minute after the restore is not.
  if (use === "before_restore") throw new MeshError("expired", `This dashboard link was made before the broker's database was restored, and cannot be told from one used then. Run \`claudemesh dashboard\` for a new link in a minute.`);
  return member;
}
