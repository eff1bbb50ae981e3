// "Did you mean …?" for the names given to the broker — a topic, a peer — with the matcher that
// commands and options use (src/did-you-mean.ts), so that `topic post deplyos` in a terminal and
// mesh_send to "#deplyos" from Claude Code both point at #deploys before suggesting a new topic.
import type { BrokerClient } from "./client.ts";
import { leftBySelf, type MemberInfo, type PeerInfo } from "../protocol/results.ts";
import { quotedName } from "./untrusted-text.ts";
import { MeshError } from "../protocol/errors.ts";
import { closest } from "../did-you-mean.ts";
import { MIN_PREFIX, peerLabel } from "./resolve.ts";
import { nameFold, sameLetters } from "./name-match.ts";

/** How a hint runs its list request: as is (the CLI), or ended with the connection it was asked
 *  on (the MCP server's open-reads.ts), so that a refusal is not held up by a hint a drop cut.
 *  `where` names the mesh searched ("this mesh" unless given: the CLI gives its label when the user
 *  is in several, the MCP server always); `option` is what a suggested command needs to act on that
 *  mesh (` --mesh ops`: a shell's CLAUDEMESH_MESH may name another), already in `lister` when it
 *  names a command; `also` is said after the first sentence (where else the name is: topicElsewhere). */
export type HintOptions = { lister?: string; read?: <T>(read: () => Promise<T>) => Promise<T>; where?: string; option?: string; also?: string };

const asIs = <T>(read: () => Promise<T>) => read();

/** Whether `err` is the broker's refusal of topic `name` as one that does not exist
 *  (unknown_recipient for a post, not_found for join, leave and history: "No topic #name …"). */
export const refusesTopic = (err: unknown, name: string): err is MeshError => err instanceof MeshError && (err.code === "unknown_recipient" || err.code === "not_found") && err.message.startsWith(`No topic #${name} `);

/** The broker's refusal of an unknown topic `name` said again with the mesh's topic nearest to it,
 *  or else, for a post, with the command that creates it, and for a not_found (which says nothing
 *  more), with what lists the topics. `lister`: what lists the topics, in the caller's terms.
 *  `err` itself when it is another error; never throws (an unreadable list is no near name). */
export async function topicHint(client: BrokerClient, err: unknown, name: string, { lister = "claudemesh topic list", read = asIs, where = "this mesh", option = "", also = "" }: HintOptions = {}): Promise<unknown> {
  if (!refusesTopic(err, name)) return err;
  const topics = await read(() => client.request("topic_list", {})).then(
    (r) => r.topics.map((t) => t.name),
    () => [],
  );
  const near = closest(name, topics);
  const head = `No topic #${name} in ${where}.${also ? ` ${also}` : ""}`;
  if (near !== null && near !== name) return new MeshError(err.code, `${head} Did you mean #${near}? (${lister} lists them.)`, { cause: err });
  const next = err.code === "not_found" ? `List them with ${lister}.` : `Create it first${also ? ` in ${where}` : ""}: claudemesh topic create ${name}${option}`;
  return new MeshError(err.code, `${head} ${next}`, { cause: err });
}

/** The broker's refusal of a send to an empty @group (unknown_recipient) said again with the
 *  nearest group some member is in, as for topics: `send @frontnd` means @frontend far more often
 *  than a group nobody joined yet. Null when no group is near (the caller keeps its own advice);
 *  never throws (an unreadable list is no near name). `lister`: what lists the groups. */
export async function groupHint(client: BrokerClient, err: unknown, name: string, { lister = "claudemesh group list", read = asIs, where = "" }: HintOptions = {}): Promise<MeshError | null> {
  if (!(err instanceof MeshError) || err.code !== "unknown_recipient") return null;
  const groups = await read(() => client.request("list_peers", {})).then(
    (r) => [...new Set(r.peers.flatMap((p) => p.groups))],
    () => [],
  );
  const near = closest(name, groups);
  if (near === null || near === name) return null;
  return new MeshError(err.code, `No member is in group @${name}${where ? ` in ${where}` : ""}. Did you mean @${near}? (${lister} lists them.)`, { cause: err });
}

/** Whether `text` names `p` exactly: its whole display name or the same letters of another script
 *  (name-match.ts sameLetters, as resolveTarget takes a name to stand for a peer; a name that only
 *  looks alike through ASCII look-alikes, a1ice for alice, never does), or a prefix of its key of at
 *  least MIN_PREFIX hex digits. (resolveTarget also takes the start of a name; a hint about
 *  another mesh or a former member does not, so that "b" is never said to be someone.) */
export function namesExactly(p: Pick<PeerInfo, "displayName" | "pubkey">, text: string): boolean {
  const t = text.trim().toLowerCase();
  return sameLetters(p.displayName, text) || (/^[0-9a-f]+$/.test(t) && t.length >= MIN_PREFIX && p.pubkey.startsWith(t));
}

/** The former member of the mesh (left, removed or banned) that `text` names, the latest gone if
 *  several; null if none. `members`: the broker's member_list, which keeps them (revokedAt). */
export function formerMember<M extends MemberInfo>(members: readonly M[], text: string): M | null {
  const gone = members.filter((m) => m.revokedAt !== null && namesExactly(m, text));
  return gone.sort((a, b) => b.revokedAt! - a.revokedAt!)[0] ?? null;
}

/** What else a refusal of an unknown peer name says, found by the caller (the CLI; the MCP server
 *  gives none of it). */
export type PeerWhere = {
  /** The mesh searched, as its user tells it apart: said when they are in several. */
  mesh?: string;
  /** A former member of it that the name names (formerMember). */
  former?: MemberInfo | null;
  /** Slugs of the user's other meshes where a peer has that name (namesExactly). */
  elsewhere?: readonly string[];
  /** How a command names another mesh: `prefix` (send's "slug:name"), or `flag` (--mesh). */
  naming?: "prefix" | "flag";
};

/** How a former member went, as the end of a sentence about them. */
const goneHow = (m: MemberInfo) => `${leftBySelf(m) ? "left this mesh" : m.banned ? "was banned from this mesh" : "was removed from this mesh"} (${new Date(m.revokedAt!).toISOString()})`;

/** The user's other meshes (`meshes`: a slug, or an id where a slug is shared) where `target`
 *  ("bob", "#deploys", "@frontend") is `what` ('peer "bob"', "topic #deploys"), as the way to reach
 *  it from this command: a "mesh:" prefix on the target, or --mesh. */
export function elsewhereText(target: string, what: string, meshes: readonly string[], naming: PeerWhere["naming"]): string {
  const mine = meshes.length === 1 ? `your mesh ${meshes[0]}` : `your meshes ${meshes.join(", ")}`;
  if (naming === "prefix") return `Did you mean ${meshes.map((s) => `${s}:${target}`).join(" or ")}? (a ${what} is in ${mine}.)`;
  return `A ${what} is in ${mine}: add ${meshes.map((s) => `--mesh ${s}`).join(" or ")}.`;
}

/** resolveTarget's "No peer matches" said again in the caller's terms, naming `where.mesh` when
 *  given. A former member the name names, and the user's other meshes where a peer has it, are
 *  said first (and then no near name: the name was meant); else the display name nearest to `text`
 *  among `peers` less the identities of member `self` (resolveTarget's `self`; null: none left
 *  out), a peer's own choice, so quoted; or, near nothing, where names are listed. `lister`: what
 *  lists the peers (the CLI's command, or the mesh_peers tool). The code stays unknown_recipient
 *  (exit 4). `err` itself when it is another error. */
export function peerHint(err: unknown, text: string, peers: readonly PeerInfo[], self: string | null, lister = "claudemesh peers", where: PeerWhere = {}): unknown {
  if (!(err instanceof MeshError) || err.code !== "unknown_recipient") return err;
  const head = `No peer matches "${text.trim()}"${where.mesh ? ` in ${where.mesh}` : ""}.`;
  const known = [where.former ? `${peerLabel(where.former)} ${goneHow(where.former)}.` : "", where.elsewhere?.length ? elsewhereText(text.trim(), `peer "${text.trim()}"`, where.elsewhere, where.naming) : ""].filter(Boolean);
  if (known.length) return new MeshError(err.code, `${head} ${known.join(" ")}`, { cause: err });
  const others = peers.filter((p) => p.memberPubkey !== self);
  const near = closest(nameFold(text), [...new Set(others.map((p) => nameFold(p.displayName)))]);
  const peer = near === null ? undefined : others.find((p) => nameFold(p.displayName) === near);
  const said = peer
    ? `Did you mean ${quotedName(peer.displayName, 80)}? (${lister} lists them.)`
    : `List names with ${lister}, or give a public-key prefix (≥ ${MIN_PREFIX} hex).`;
  return new MeshError(err.code, `${head} ${said}`, { cause: err });
}
