// Lookups that answer what resolving one typed target, and vouching for one key, need from the
// mesh's lists (docs/protocol.md §4.3.28–29), so that a one-shot `claudemesh send` in a mesh of
// thousands does not read `list_peers` and `member_list` whole (2 MB and 4.9 MB at 5,000 members).
// The client runs its own resolution and checks over the rows; the broker only leaves out rows
// that cannot change their outcome.
import type { ClientFrameOf } from "../../protocol/frames.ts";
import type { ListedMember, Results } from "../../protocol/results.ts";
import { MAX_LOOKUP_MEMBERS, MAX_LOOKUP_PEERS } from "../../protocol/limits.ts";
import { MIN_KEY_PREFIX, NAME_RULE } from "../../protocol/name-compare.ts";
import { isPubkeyHex } from "../../crypto/sign.ts";
import type { BrokerContext } from "../context.ts";
import type { Conn } from "../conn.ts";
import { nameIndexLimit, type Roster } from "../roster.ts";
import { NameIndex } from "../name-index.ts";
import { peerInfo, peerRows, shownName, type PeerRow } from "../peer-rows.ts";
import { memberInfo } from "./admin.ts";

export async function handlePeerLookup(ctx: BrokerContext, conn: Conn, f: ClientFrameOf<"peer_lookup">): Promise<Results["peer_lookup"]> {
  const meshId = conn.identity!.meshId;
  const roster = await ctx.roster.get(meshId);
  const matched = matching(ctx, meshId, roster, f.text);
  const listed = matched.slice(0, MAX_LOOKUP_PEERS);
  const memberOf = (p: PeerRow) => (p.kind === "member" ? p.row.id : p.member.id);
  const ids = [...new Set(listed.map(memberOf))];
  const groups = new Map(await Promise.all(ids.map(async (id) => [id, await ctx.store.memberGroups(meshId, id)] as const)));
  return { peers: listed.map((p) => peerInfo(ctx, meshId, p, groups.get(memberOf(p)) ?? [])), complete: matched.length <= MAX_LOOKUP_PEERS, nameRule: NAME_RULE };
}

/** The peers `text` could name (§4.3.28): by its key, a key prefix of MIN_KEY_PREFIX hex digits or
 *  more, or a name that compares equal to it; only when none does, those whose compared name
 *  starts with its compared form. The same tiers as the client's resolver, which never reads past
 *  the first that matches. A key and a name are looked up (the roster's maps and its name index);
 *  a key prefix and the second tier compare every peer. */
function matching(ctx: BrokerContext, meshId: string, r: Roster, text: string): PeerRow[] {
  const t = text.trim();
  const lower = t.toLowerCase();
  const names = indexOf(ctx, meshId, r);
  const key = names.skeleton(t);
  const skeleton = (p: PeerRow) => names.skeleton(shownName(ctx, meshId, p));
  // A key prefix may start any key: compared with each. A whole key starts only itself.
  if (lower.length >= MIN_KEY_PREFIX && /^[0-9a-f]+$/.test(lower) && !isPubkeyHex(lower)) {
    const exact = [...peerRows(r)].filter((p) => p.row.pubkey.startsWith(lower) || (key !== "" && skeleton(p) === key));
    if (exact.length > 0) return exact;
  } else {
    // Candidates by their names of now and before, each kept only if still a peer that goes by it.
    const found = new Map<string, PeerRow>();
    const byKey = peerRow(r, lower);
    if (byKey) found.set(lower, byKey);
    for (const pubkey of key === "" ? [] : names.candidates(key)) {
      const p = peerRow(r, pubkey);
      if (p && skeleton(p) === key) found.set(pubkey, p);
    }
    if (found.size > 0 || key === "") return [...found.values()].sort((a, b) => Number(a.kind === "session") - Number(b.kind === "session") || names.place(a.row.pubkey) - names.place(b.row.pubkey));
  }
  if (key === "") return [];
  return [...peerRows(r)].filter((p) => skeleton(p).startsWith(key));
}

/** The roster's name index, built from every peer's stored and shown name if the roster has none
 *  (the first lookup after a load) or it has grown stale past nameIndexLimit. */
function indexOf(ctx: BrokerContext, meshId: string, r: Roster): NameIndex {
  if (r.names && r.names.size <= nameIndexLimit(r)) return r.names;
  const names = new NameIndex(nameIndexLimit(r));
  for (const p of peerRows(r)) {
    names.add(p.row.pubkey, p.row.displayName);
    names.add(p.row.pubkey, shownName(ctx, meshId, p));
  }
  return (r.names = names);
}

/** The roster's row of `pubkey` as a peer, if it has one. */
function peerRow(r: Roster, pubkey: string): PeerRow | undefined {
  const member = r.byPubkey.get(pubkey);
  if (member) return { kind: "member", row: member };
  const session = r.sessions.get(pubkey);
  return session && { kind: "session", row: session, member: r.members.get(session.memberId)! };
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
