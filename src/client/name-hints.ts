// "Did you mean …?" for the names given to the broker — a topic, a peer — with the matcher that
// commands and options use (src/did-you-mean.ts), so that `topic post deplyos` in a terminal and
// mesh_send to "#deplyos" from Claude Code both point at #deploys before suggesting a new topic.
import type { BrokerClient } from "./client.ts";
import type { PeerInfo } from "../protocol/results.ts";
import { quoted } from "./untrusted-text.ts";
import { MeshError } from "../protocol/errors.ts";
import { closest } from "../did-you-mean.ts";

/** The broker's refusal of an unknown topic `name` (unknown_recipient for a post, not_found for
 *  join, leave and history) said again with the mesh's topic nearest to it; `err` itself when it
 *  is another error, nothing is near, or the topic list cannot be read. Never throws. */
export async function topicHint(client: BrokerClient, err: unknown, name: string): Promise<unknown> {
  if (!(err instanceof MeshError) || (err.code !== "unknown_recipient" && err.code !== "not_found")) return err;
  const topics = await client.request("topic_list", {}).then(
    (r) => r.topics.map((t) => t.name),
    () => [],
  );
  const near = closest(name, topics);
  if (near === null || near === name) return err;
  return new MeshError(err.code, `No topic #${name} in this mesh. Did you mean #${near}? (claudemesh topic list lists them.)`, { cause: err });
}

/** resolveTarget's "No peer matches" said again with the display name nearest to `text` among
 *  `peers` less the identities of member `self` (resolveTarget's `self`; null: none left out), a
 *  peer's own choice, so quoted; `err` itself otherwise. `lister`: what lists the peers, in the
 *  caller's terms (the CLI's command, or the mesh_peers tool). */
export function peerHint(err: unknown, text: string, peers: readonly PeerInfo[], self: string | null, lister = "claudemesh peers"): unknown {
  if (!(err instanceof MeshError) || err.code !== "unknown_recipient") return err;
  const others = peers.filter((p) => p.memberPubkey !== self);
  const near = closest(text.trim().toLowerCase(), [...new Set(others.map((p) => p.displayName.toLowerCase()))]);
  const peer = near === null ? undefined : others.find((p) => p.displayName.toLowerCase() === near);
  if (!peer) return err;
  return new MeshError(err.code, `No peer matches "${text.trim()}". Did you mean ${quoted(peer.displayName, 80)}? (${lister} lists them.)`, { cause: err });
}
