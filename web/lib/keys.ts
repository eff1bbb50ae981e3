// The member's keys from the login link, kept in this tab's sessionStorage only: gone when the tab
// closes, never in localStorage, never sent anywhere (they open and seal #general posts and sign
// invites). A new tab has the cookie but not the keys, and says so.
import type { PageKeys } from "../../src/client/dashboard-link.ts";

const ITEM = "claudemesh.dashboard.keys";

export function keepKeys(meshId: string, keys: PageKeys | undefined): void {
  if (keys) sessionStorage.setItem(ITEM, JSON.stringify({ meshId, keys }));
  else sessionStorage.removeItem(ITEM);
}

/** The keys for this mesh and member key, or null. */
export function loadKeys(meshId: string, publicKey: string): PageKeys | null {
  try {
    const kept = JSON.parse(sessionStorage.getItem(ITEM) ?? "null");
    return kept?.meshId === meshId && kept.keys?.publicKey === publicKey ? (kept.keys as PageKeys) : null;
  } catch {
    return null;
  }
}

export const forgetKeys = () => sessionStorage.removeItem(ITEM);
