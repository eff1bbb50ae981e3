// Resolving one typed target, and vouching for one key, without reading the mesh's whole lists:
// the broker's `peer_lookup` and `member_lookup` (docs/protocol.md §4.3.28–29) answer with the rows
// that can change the outcome, and the client runs the same resolution (resolve.ts) and checks
// (admission.ts) over them. In a mesh of 5,000 that is a few KB instead of 7 MB. A broker older
// than these requests answers `unknown_type`: the callers then read list_peers and member_list as
// they did before, and so they do wherever the short answer cannot settle it (a refusal, which is
// worded from the whole list: the nearest name, every candidate).
import { PUBKEY_RE } from "../crypto/fields.ts";
import { MeshError } from "../protocol/errors.ts";
import type { ClientFrameOf } from "../protocol/frames.ts";
import { MAX_LOOKUP_TEXT_LEN } from "../protocol/limits.ts";
import { NAME_RULE } from "../protocol/name-compare.ts";
import type { ListedMember, PeerInfo, Results } from "../protocol/results.ts";
import type { ClaimCounts } from "./admission.ts";
import { MalformedAnswerError } from "./broker-trouble.ts";
import type { BrokerClient } from "./client.ts";
import type { Resolved } from "./resolve.ts";

/** Runs a broker read (the MCP server passes its OpenReads, which ends it with the connection). */
export type Read = <T>(read: () => Promise<T>) => Promise<T>;
const asIs: Read = (read) => read();

type Lookup = "peer_lookup" | "member_lookup";

/** The lookup's answer, or null from a broker that does not know it or answers it with something
 *  else than its shape. Such an answer (a MalformedAnswerError: the request table checks every
 *  answer, result-schemas.ts) is no evidence: the whole lists are read instead, as from an older
 *  broker, so that junk is refused or accepted as those lists decide, never read as rows (it failed
 *  with "null is not an object", exit 1). Other errors are thrown. */
async function lookup<T extends Lookup>(client: BrokerClient, type: T, fields: Omit<ClientFrameOf<T>, "type" | "id">, read: Read): Promise<Results[T] | null> {
  // Not on a connection whose broker refused them, nor on a CLI command's first one when this
  // machine saw that broker refuse them within the hour (broker-refusals.ts, refusal-memory.ts).
  if (client.refusals.refuses("lookups")) return null;
  try {
    return await read(() => client.request(type, fields));
  } catch (err) {
    if (err instanceof MalformedAnswerError) return null;
    if (!(err instanceof MeshError && err.code === "unknown_type")) throw err;
    client.refusals.refused("lookups");
    return null;
  }
}

/** The peers the broker lists for `text`: all that resolving it can read (complete, by this
 *  client's name rule), or null (older broker, more than the answer holds, another rule, a text
 *  longer than the request takes). */
async function peersFor(client: BrokerClient, text: string, read: Read): Promise<PeerInfo[] | null> {
  const t = text.trim();
  if (t.length === 0 || t.length > MAX_LOOKUP_TEXT_LEN) return null;
  const r = await lookup(client, "peer_lookup", { text: t }, read);
  return r && r.complete && r.nameRule === NAME_RULE ? r.peers : null;
}

/** The peers the broker lists for `text` (peersFor), or the whole list when that cannot say. A row
 *  of a given key is among them either way (§4.3.28: a key matches its own row). */
export async function peersLookedUp(client: BrokerClient, text: string): Promise<PeerInfo[]> {
  return (await peersFor(client, text, asIs)) ?? (await client.request("list_peers", {})).peers;
}

/** `resolve` (resolveTarget, as the caller applies it) over the peers the broker says `input`
 *  could name, when that settles it: then the whole list gives the same target, since the answer
 *  holds every row resolution reads (§4.3.28). Null when it cannot tell: no usable answer
 *  (peersFor), or a refusal, which the caller says again from the whole list. */
export async function resolveNarrowly(client: BrokerClient, input: string, resolve: (peers: PeerInfo[]) => Resolved, read: Read = asIs): Promise<(Resolved & { peers: PeerInfo[] }) | null> {
  const peers = await peersFor(client, input, read);
  if (peers === null) return null;
  try {
    return { ...resolve(peers), peers };
  } catch {
    return null;
  }
}

/** What recipientDoubt needs to judge a direct message to `to`. */
export type Evidence = { members: ListedMember[]; peers: readonly PeerInfo[]; counts: ClaimCounts };

/** The member rows that vouching for `to` reads (member_lookup of its member: for a session, the
 *  member its attestation names), the peer row of `to` (from `peers` if it holds it, else
 *  peer_lookup), and the broker's claim counts; from a broker without the lookups, or when the
 *  answer is cut, the member list and the peer list whole. */
export async function evidenceFor(client: BrokerClient, to: string, peers?: readonly PeerInfo[]): Promise<Evidence> {
  const known = peers?.find((p) => p.pubkey === to);
  return (await narrowEvidence(client, to, known)) ?? (await wholeLists(client, known ? peers! : undefined));
}

/** What checking one member key's enrolment reads (admission.ts): the member rows of
 *  member_lookup (the member, its inviter, and so on to the owner) and the broker's claim count
 *  per invite on the way. Null from a broker without the request or with an answer not of its
 *  shape: the caller reads member_list whole then. Other errors are thrown. */
export type MemberRows = { members: ListedMember[]; counts: ClaimCounts };

export async function memberRows(client: BrokerClient, key: string): Promise<MemberRows | null> {
  const r = await lookup(client, "member_lookup", { pubkey: key }, asIs);
  return r && { members: r.members, counts: new Map(r.claims.map((c) => [c.inviteId, c.claimed])) };
}

/** memberRows, or from a broker that cannot give them the member list whole (no counts). */
export async function memberEvidence(client: BrokerClient, key: string): Promise<MemberRows> {
  return (await memberRows(client, key)) ?? { members: (await client.request("member_list", {})).members, counts: new Map() };
}

async function narrowEvidence(client: BrokerClient, to: string, known: PeerInfo | undefined): Promise<Evidence | null> {
  const members = (key: string) => memberRows(client, key);
  // Not known to be a session: asked as a member, and its peer row at once.
  const [own, listed] = await Promise.all([known?.kind === "session" ? null : members(to), known ? [known] : peersFor(client, to, asIs)]);
  if (listed === null || (known?.kind !== "session" && own === null)) return null;
  const session = listed.find((p) => p.pubkey === to && p.kind === "session");
  // The member the attestation names, if it names a key at all: anything else (the broker's word)
  // was sent as member_lookup's `pubkey`, and its refusal said the CLI had made a bad request (exit
  // 2). With no rows, recipientDoubt says the attestation does not verify.
  const parent = session?.attestation?.parentMemberPubkey;
  const r = session ? (typeof parent === "string" && PUBKEY_RE.test(parent) ? await members(parent) : { members: [], counts: new Map() }) : own;
  if (r === null) return null;
  return { members: r.members, peers: listed, counts: r.counts };
}

/** The member list, and the peer list unless the caller read it (`peers`). */
async function wholeLists(client: BrokerClient, peers?: readonly PeerInfo[]): Promise<Evidence> {
  const [{ members }, listed] = await Promise.all([client.request("member_list", {}), peers ?? client.request("list_peers", {}).then((r) => r.peers)]);
  return { members, peers: listed, counts: new Map() };
}
