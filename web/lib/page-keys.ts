// The page key of each session this page opened (src/protocol/dashboard-keys.ts): the broker
// answers a login with it and refuses the session's cookie without it, so a page served on another
// port of the same host name, which the browser also sends the cookie to, cannot use the session.
// Kept in this origin's localStorage (per port; every tab of the page has it), newest last.
// A key is forgotten only when the broker says that it opens nothing for this browser any more
// (PAGE_KEYS_ENDED_HEADER): never because newer logins came, which would sign out a session that
// is still open (the operator's, after a few member links opened in this origin).
import { MAX_SHOWN_PAGE_KEYS, PAGE_KEY_PARAM } from "../../src/protocol/dashboard-keys.ts";

const ITEM = "claudemesh.dashboard.pageKeys";

/** The keys this origin holds, oldest first. */
export function pageKeys(): string[] {
  try {
    const keys = JSON.parse(localStorage.getItem(ITEM) ?? "[]");
    return Array.isArray(keys) ? keys.filter((k) => typeof k === "string") : [];
  } catch {
    return [];
  }
}

/** Past MAX_SHOWN_PAGE_KEYS (a broker that never names ended keys) the oldest go. */
const save = (keys: string[]) => localStorage.setItem(ITEM, JSON.stringify(keys.slice(-MAX_SHOWN_PAGE_KEYS)));

/** Keeps the key a login answered with. Read again here, not before the call: another tab may
 *  have kept or dropped keys meanwhile. */
export function keepPageKey(key: string): void {
  save([...pageKeys().filter((k) => k !== key), key]);
}

/** Forgets the keys of `sent` (those a call showed) at the positions the broker named `ended`
 *  (the header's value; null when it named none). Keys kept since the call was sent stay. */
export function forgetEndedKeys(sent: readonly string[], ended: string | null): void {
  const gone = new Set((ended ?? "").split(",").flatMap((i) => (/^\d+$/.test(i.trim()) ? (sent[Number(i)] ?? []) : [])));
  if (gone.size > 0) save(pageKeys().filter((k) => !gone.has(k)));
}

/** The live view's query string for the page keys (an EventSource sends no headers). */
export function pageKeyQuery(): string {
  const keys = pageKeys();
  return keys.length ? `?${PAGE_KEY_PARAM}=${encodeURIComponent(keys.join(","))}` : "";
}
