// Creating an invite in the page, exactly as `claudemesh invite` does (src/client/invite-build.ts):
// signed with the member key from the login link, mesh keys sealed with the link's new secret.
import { buildInvite, type BuiltInvite } from "../../src/client/invite-build.ts";
import type { PageKeys } from "../../src/client/dashboard-link.ts";
import { toBase64Url } from "../../src/crypto/encoding.ts";

/** A random 22-character invite id (16 bytes), like the CLI's: never starting with "-", so that
 *  `claudemesh invite revoke ID` does not read it as an option. */
function newInviteId(): string {
  for (;;) {
    const id = toBase64Url(crypto.getRandomValues(new Uint8Array(16)));
    if (!id.startsWith("-")) return id;
  }
}

/** Throws when the tab holds no mesh key: the invite would give the joiner none to read with. */
export function makeInvite(meshId: string, keys: PageKeys, spec: { role: "member" | "admin"; maxUses: number; lifetimeS: number }): BuiltInvite {
  if (keys.meshKeys.length === 0) throw new Error("There is no mesh key in this tab, so an invite made here could not give the joiner the mesh keys.");
  const expiresAt = Math.floor(Date.now() / 1000) + spec.lifetimeS;
  return buildInvite({ ...keys, meshId }, { inviteId: newInviteId(), role: spec.role, maxUses: spec.maxUses, expiresAt });
}
