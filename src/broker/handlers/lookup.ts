// Lookups that answer what resolving one typed target, and vouching for one key, need from the
// mesh's lists (docs/protocol.md §4.3.28–29), so that a one-shot `claudemesh send` in a mesh of
// thousands does not read `list_peers` and `member_list` whole (2 MB and 4.9 MB at 5,000 members).
// The client runs its own resolution and checks over the rows; the broker only leaves out rows
// that cannot change their outcome.
import type { ClientFrameOf } from "../../protocol/frames.ts";
import type { ListedMember, Results } from "../../protocol/results.ts";
import { MAX_LOOKUP_MEMBERS, MAX_LOOKUP_PEERS } from "../../protocol/limits.ts";
import { MIN_KEY_PREFIX, NAME_RULE, nameSkeleton } from "../../protocol/name-compare.ts";
import type { BrokerContext } from "../context.ts";
import type { Conn } from "../conn.ts";
import type { Roster } from "../roster.ts";
import { peerInfo, peerRows, shownName, type PeerRow } from "../peer-rows.ts";
import { memberInfo } from "./admin.ts";

/** Skeletons memoised per roster load beyond this many names (live names change with hellos) are
 *  dropped and computed again: the memo never outgrows a few times the mesh. */
const skeletonMemoLimit = (r: Roster) => 4 * (r.members.size + r.sessions.size) + 256;

export async function handlePeerLookup(ctx: BrokerContext, conn: Conn, f: ClientFrameOf<"peer_lookup">): Promise<Results["peer_lookup"]> {
  const meshId = conn.identity!.meshId;
  const roster = await ctx.roster.get(meshId);
  const matched = matching(ctx, meshId, roster, f.text);
  const listed = matched.slice(0, MAX_LOOKUP_PEERS);
  const memberOf = (p: PeerRow) => (p.kind === "member" ? p.row.id : p.member.id);
  const ids = [...new Set(listed.map(memberOf))];
  const groups = new Map(await Promise.all(ids.map(async (id) => [id, await ctx.store.memberGroups(id)] as const)));
  return { peers: listed.map((p) => peerInfo(ctx, meshId, p, groups.get(memberOf(p)) ?? [])), complete: matched.length <= MAX_LOOKUP_PEERS, nameRule: NAME_RULE };
}

/** The peers `text` could name (§4.3.28): by its key, a key prefix of MIN_KEY_PREFIX hex digits or
 *  more, or a name that compares equal to it; only when none does, those whose compared name
 *  starts with its compared form. The same tiers as the client's resolver, which never reads past
 *  the first that matches. */
function matching(ctx: BrokerContext, meshId: string, r: Roster, text: string): PeerRow[] {
  const t = text.trim();
  const lower = t.toLowerCase();
  const key = nameSkeleton(t);
  const prefix = lower.length >= MIN_KEY_PREFIX && /^[0-9a-f]+$/.test(lower);
  if (r.skeletons.size > skeletonMemoLimit(r)) r.skeletons.clear();
  const skeleton = (p: PeerRow) => {
    const name = shownName(ctx, meshId, p);
    let s = r.skeletons.get(name);
    if (s === undefined) r.skeletons.set(name, (s = nameSkeleton(name)));
    return s;
  };
  const rows = [...peerRows(r)];
  const exact = rows.filter((p) => p.row.pubkey === lower || (prefix && p.row.pubkey.startsWith(lower)) || (key !== "" && skeleton(p) === key));
  if (exact.length > 0 || key === "") return exact;
  return rows.filter((p) => skeleton(p).startsWith(key));
}

export async function handleMemberLookup(ctx: BrokerContext, conn: Conn, f: ClientFrameOf<"member_lookup">): Promise<Results["member_lookup"]> {
  const meshId = conn.identity!.meshId;
  const members: ListedMember[] = [];
  // The member, then whoever issued the invite it joined through, and so on: a row without
  // admission evidence (the owner) ends it, as do a key listed already and a key of no member.
  for (let key: string | undefined = f.pubkey; key !== undefined && members.length < MAX_LOOKUP_MEMBERS && !members.some((m) => m.pubkey === key); ) {
    const m = await ctx.store.getMemberByPubkey(meshId, key);
    if (!m) break;
    const admission = await ctx.store.getAdmission(meshId, m.id);
    members.push({ ...memberInfo(m), admission });
    key = admission?.issuerPubkey;
  }
  const invites = [...new Set(members.flatMap((m) => (m.admission ? [m.admission.inviteId] : [])))];
  const claims = await Promise.all(invites.map(async (inviteId) => ({ inviteId, claimed: await ctx.store.countClaims(meshId, inviteId) })));
  return { members, claims };
}
