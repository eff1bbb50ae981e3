// The mesh owner's direct messages bring the mesh keys (docs/protocol.md §11.5). The broker cannot
// tell a `keys` message from any other DM, so a grant entry that takes `dm` from the owner's member
// key drops them (§5.9): every topic, group and broadcast message sealed after the next rotation
// stays unreadable, while the owner is told the keys were sent. The grant commands warn when they
// make such an entry; where the keys are waited for, client/owner-dm.ts names it.
import type { MeshEntry } from "../client/local/config-file.ts";
import { peerLabel } from "../client/resolve.ts";
import type { Cap } from "../protocol/fields.ts";
import type { PeerInfo } from "../protocol/results.ts";
import { shellCommand } from "../config/command-line.ts";

/** The warning for a grant change that takes `dm` (from `current` to `caps`) from the mesh owner's
 *  member key, or null. Not a refusal: the owner's other messages may be unwanted, and the user
 *  may mean it; but it must be said, since nothing else will say it until the next rotation.
 *  `typed`: the peer as the user named it; `meshArgs`: the --mesh the undo needs. */
export function ownerDmWarning(peer: PeerInfo, mesh: MeshEntry, current: readonly Cap[], caps: readonly Cap[], typed: string, meshArgs: string[]): string | null {
  if (peer.kind !== "member" || peer.pubkey !== mesh.ownerPubkey || !current.includes("dm") || caps.includes("dm")) return null;
  const undo = shellCommand(["claudemesh", "grant", typed, "dm", ...meshArgs]);
  return `${peerLabel(peer)} is the mesh owner, whose direct messages bring the mesh keys: from the next key rotation on you will read no topic, group or broadcast message, until you let them through again (${undo}).`;
}
