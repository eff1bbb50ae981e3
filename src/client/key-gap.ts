// What to tell someone whose newest mesh key is older than the mesh's epoch (the broker's
// hello_ack keyEpoch). A member gets the key from the owner: its mailbox holds the `keys` message,
// or a key request brings it. The owner gets it from nobody: members accept keys only from the
// owner, so none of them can hand one back. An owner is behind only when this owner key rotated
// on another machine (the same key restored there) or when this config came from a backup older
// than a rotation; its way out is a rotation of its own. One text for the CLI, the MCP server and
// the dashboard page (which bundles this file, so it imports nothing).

/** The missing epochs, as words: "epoch 3" or "epochs 2 to 3". */
const missing = (held: number, meshEpoch: number): string => (meshEpoch - held === 1 ? `epoch ${meshEpoch}` : `epochs ${held + 1} to ${meshEpoch}`);

/** The owner's way out, as one or two sentences (no trailing space). */
export function ownerKeyGapFix(held: number, meshEpoch: number, meshOption = ""): string {
  return (
    `Only the owner hands out mesh keys, so no member can send this owner key the one it lacks. ` +
    `Run \`claudemesh inbox${meshOption}\` first in case a rekey on another machine with this owner key sent it here too; if it still lacks it, run \`claudemesh rekey${meshOption}\`: ` +
    `it makes a new epoch that every member gets. Posts sealed under ${missing(held, meshEpoch)} stay unreadable here.`
  );
}

/** Why a post is refused, and what to do (send refused before sealing). */
export function keyGapRefusal(owner: boolean, held: number, meshEpoch: number): string {
  const head = `The mesh key was rotated to epoch ${meshEpoch} and this ${owner ? "owner" : "member"} has epoch ${held}`;
  return owner ? `${head}. ${ownerKeyGapFix(held, meshEpoch)}` : `${head}: read your messages first (\`claudemesh inbox\`, or mesh_inbox), which brings the new key, then send again.`;
}

/** The line under a topic history (or chat) that shows posts sealed with an epoch not held here. */
export function unreadableHint(owner: boolean, held: number, meshEpoch: number): string {
  if (!owner) return "Some posts are sealed with a mesh key this machine has not received yet: `claudemesh inbox` reads it (the owner sends it to every member), then run this again.";
  if (held < meshEpoch) return `Some posts are sealed with a mesh key this owner key never received (epoch ${meshEpoch} is the mesh's; this machine has ${held}). ${ownerKeyGapFix(held, meshEpoch)}`;
  // Behind no more, yet missing an epoch in between: the rekey was already done here.
  return "Some posts are sealed with a mesh key this owner key never received (rotated on another machine with this key, or this config came from a backup older than that rotation). Only the owner hands out mesh keys, so they stay unreadable here; everything sent from now on is readable.";
}

/** The owner's way on for a dashboard tab holding an older epoch: usually the tab was opened
 *  before a rotation made here, and a fresh link carries the keys this machine holds now. */
export function ownerTabFix(held: number, meshEpoch: number): string {
  return `Open a fresh link from \`claudemesh dashboard\`: it carries the keys this machine holds now. If that tab is behind too (the key was rotated on another machine with this owner key, or this config came from an older backup), ${ownerKeyGapFix(held, meshEpoch).replace(/^Only/, "only")}`;
}
