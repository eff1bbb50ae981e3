// Reading a login link: the fragment is removed from the address bar (and so from history, bookmarks
// and screenshots) before anything else runs, the keys go to sessionStorage, and the signed login
// is exchanged for the session cookie.
import { parseDashboardFragment } from "../../src/client/dashboard-link.ts";
import { post } from "./api.ts";
import { keepKeys } from "./keys.ts";

/** Consumes a `#login=` fragment if there is one. Resolves true when a session was opened; rejects
 *  with the broker's ApiError (expired, used, not a member…). False when there was no link. The
 *  login request goes through `persist`, which may make it again (while the broker does not
 *  answer, or throttles logins) and is told when the link expires (ms since the epoch): the link
 *  is then kept in memory only, never put back in the address bar. */
export async function consumeLoginFragment(persist: (login: () => Promise<unknown>, expiresAt: number) => Promise<unknown>): Promise<boolean> {
  const hash = location.hash;
  if (!hash) return false;
  history.replaceState(null, "", location.pathname + location.search);
  const link = parseDashboardFragment(hash);
  if (!link) throw new Error("This is not a dashboard login link. Run `claudemesh dashboard` for a new one.");
  await persist(() => post("/v1/dashboard/login", link.login), link.login.expiresAt);
  // Only once the broker accepted the link: a refused one (used, expired) leaves no keys behind.
  keepKeys(link.login.meshId, link.keys);
  return true;
}
