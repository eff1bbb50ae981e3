// What one mesh link sends: a target as the model typed it, resolved to a key a message may be
// encrypted to, and the send itself, each refusal worded for the model (the nearest peer or topic
// name, "not sent" with what was being done).
import type { BrokerClient } from "../client/client.ts";
import type { MeshSession } from "../client/mesh-session.ts";
import { namesPeer, peerLabel, resolveTarget, type Resolved } from "../client/resolve.ts";
import { groupHint, peerHint, topicHint } from "../client/name-hints.ts";
import { resolveNarrowly } from "../client/lookups.ts";
import type { Priority } from "../protocol/fields.ts";
import type { PeerInfo, Results } from "../protocol/results.ts";
import { notSent } from "./not-sent.ts";
import { joinHint, selfHint } from "./send-refusals.ts";
import { keyGapNoted } from "./key-wait.ts";

export type OutgoingDeps = {
  /** How the tools name the mesh (MeshLink.label). */
  label: () => string;
  /** What chooses the mesh as `--mesh` in a terminal: its slug, or its id when the slug is shared. */
  choice: () => string;
  session: MeshSession;
  client: BrokerClient;
  /** The mesh's peers (list_peers), ended with the connection (open-reads.ts). */
  peers: () => Promise<PeerInfo[]>;
  /** Runs broker reads that end with the connection they were asked on (open-reads.ts). */
  read: <T>(read: () => Promise<T>) => Promise<T>;
  /** Takes in the keys the config on disk holds (a `rekey` in a terminal saved a newer one). */
  refreshKeys: () => void;
};

export type SendOptions = { priority?: Priority; replyTo?: string; kind?: "text" | "ask"; clientMessageId?: string };

/** A target as typed, resolved, and checked as something a DM may be encrypted to. A name that
 *  matches nobody is refused with the nearest one (peerHint), as in the CLI. */
export async function resolveFor(d: OutgoingDeps, input: string): Promise<{ target: string; name: string }> {
  const lookup = (err: unknown) => {
    throw notSent(err, `looking up ${JSON.stringify(input)}`, d.label());
  };
  const me = d.session.id.publicKey;
  // The peers the name could be, asked as a tool's read; the whole list when they cannot settle it.
  const narrow = namesPeer(input) ? await resolveNarrowly(d.client, input, (peers) => resolveTarget(input, others(peers, me)), d.read).catch(lookup) : null;
  const r = narrow ?? (await resolveOverAll(d, input, lookup));
  await d.read(() => d.session.vouchFor(d.client, r.target, r.peers)).catch(lookup);
  // Names are the broker's word; the key prefix says who the message was encrypted to.
  return { target: r.target, name: r.peer ? peerLabel(r.peer) : r.target };
}

/** The peers but this session itself, which a name never means. */
const others = (peers: readonly PeerInfo[], me: string) => peers.filter((p) => p.pubkey !== me);

/** `input` resolved over the whole peer list; a name that matches nobody is refused as "that is
 *  you" or with the nearest name. `lookup` says a failed read in the tool's words. */
async function resolveOverAll(d: OutgoingDeps, input: string, lookup: (err: unknown) => never): Promise<Resolved & { peers: PeerInfo[] }> {
  const me = d.session.id.publicKey;
  const peers = namesPeer(input) ? await d.peers().catch(lookup) : [];
  try {
    return { ...resolveTarget(input, others(peers, me)), peers };
  } catch (err) {
    throw peerHint(selfHint(err, input, peers, me), input, others(peers, me), null, "mesh_peers");
  }
}

/** `clientMessageId` only to retry a send whose outcome was unknown (SendError). The refusal of
 *  an unknown topic or an empty group names the nearest one (topicHint, groupHint), as in the CLI. */
export async function sendFrom(d: OutgoingDeps, target: string, body: string, opts: SendOptions = {}): Promise<Results["send"]> {
  // Behind the mesh's epoch: the CLI may have saved the newer key (a `rekey` in a terminal).
  if ((d.session.currentKey()?.epoch ?? 0) < (d.client.ack?.mesh.keyEpoch ?? 0)) d.refreshKeys();
  // The recipient's key is checked (vouchFor: reads, mesh_reply's first to a sender) before the
  // `send` request, as a read that a drop ends at once rather than one asked again after it.
  await d.read(() => d.session.vouchFor(d.client, target)).catch((err: unknown) => {
    throw notSent(err, "checking the recipient", d.label());
  });
  return d.session.send(d.client, target, body, opts).catch(async (refusal: unknown) => {
    // A post refused for a key this member lacks says so when its own grant keeps the keys out.
    const err = await keyGapNoted({ ...d, choice: d.choice() }, target, refusal);
    // The nearest name is looked up as a tool's read: cut by a drop, the refusal goes out without it.
    // The user runs what is suggested in a terminal, whose CLAUDEMESH_MESH may name another mesh:
    // each command carries the --mesh of this one.
    const name = target.slice(1);
    const option = ` --mesh ${d.choice()}`;
    const where = `mesh ${d.label()}`;
    const hinted = target.startsWith("#")
      ? joinHint(await topicHint(d.client, err, name, { read: d.read, where, option, lister: `claudemesh topic list${option}` }), name, option)
      : target.startsWith("@")
        ? ((await groupHint(d.client, err, name, { lister: `\`claudemesh group list${option}\` in a terminal`, read: d.read, where })) ?? err)
        : err;
    throw notSent(hinted, "checking the recipient", d.label());
  });
}
