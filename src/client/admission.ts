// Which members the mesh owner can vouch for itself. The broker keeps the member list, and a
// modified broker could list a key of its own; handing that key the mesh keys (a rotation, an
// answered key request) would give the broker every message. So the owner's client sends keys
// only to members whose enrolment it can check from signatures the broker cannot make (§11.5):
//   - the issuer's invite (§3.4) and its binding of the invite key (§3.4b), by the owner, or by an
//     admin the owner can itself vouch for (only the owner invites admins);
//   - the claim (§3.5) signed with that invite key over the member's own key, while the invite
//     was valid;
//   - no more such claims through the invite than the use limit its issuer signed (§3.4b v2): the
//     broker enforces the limit, and could otherwise let more link holders in than intended.
import { inviteCanonical, inviteClaimCanonical, inviteKeyCanonical, inviteKeyCanonicalV1 } from "../protocol/canonical.ts";
import type { AdmissionInfo, ListedMember as Listed, MemberInfo, PeerInfo } from "../protocol/results.ts";
import { verifyDetached } from "../crypto/sign.ts";
import { attestationSignatureValid } from "../crypto/attestation.ts";
import { peerLabel } from "./resolve.ts";

/** Clock skew the broker allows a claim's timestamp (§3.5). */
const CLAIM_SKEW_MS = 60_000;

/** The use limit the issuer signed into `a`'s invite key binding (§3.4b): a number; null for a
 *  binding made before the limit was signed; undefined when no binding verifies. */
function signedLimit(meshId: string, a: AdmissionInfo): number | null | undefined {
  if (a.keySignature === null) return undefined;
  if (verifyDetached(a.keySignature, inviteKeyCanonical(meshId, a.inviteId, a.invitePubkey, a.maxUses), a.issuerPubkey)) return a.maxUses;
  if (verifyDetached(a.keySignature, inviteKeyCanonicalV1(meshId, a.inviteId, a.invitePubkey), a.issuerPubkey)) return null;
  return undefined;
}

/** How many members the broker says it enrolled through each invite, by invite id
 *  (member_lookup's `claims`, §4.3.29), for a list that holds only the rows vouching for one key
 *  needs: it stands for the rows of the invite's other members, left out. None for a whole list. */
export type ClaimCounts = ReadonlyMap<string, number>;

const NO_COUNTS: ClaimCounts = new Map();

/** The rows of a member list whose claim (§3.5) verifies with the invite key they show (claims only
 *  a holder of the link could sign), and how many distinct keys each invite (by id and key) shows
 *  enrolled that way, removed members included, or the broker counted for it (`counts`), whichever
 *  is more. Each claim is verified once. A count is no weaker than the rows: the broker can leave
 *  rows out of any list, and a count it raises only refuses more. */
type Claims = { valid: ReadonlySet<Listed>; count(a: AdmissionInfo): number };

function verifiedClaims(members: readonly Listed[], counts: ClaimCounts): Claims {
  const valid = new Set<Listed>();
  const keys = new Map<string, Set<string>>();
  const invite = (a: AdmissionInfo) => `${a.inviteId}|${a.invitePubkey}`;
  for (const m of members) {
    const a = m.admission;
    if (!a || !verifyDetached(a.claimSignature, inviteClaimCanonical(a.inviteId, m.pubkey, a.claimedAt), a.invitePubkey)) continue;
    valid.add(m);
    keys.set(invite(a), (keys.get(invite(a)) ?? new Set()).add(m.pubkey));
  }
  return { valid, count: (a) => Math.max(keys.get(invite(a))?.size ?? 0, counts.get(a.inviteId) ?? 0) };
}

/** Whether `a`, `m`'s admission, proves that it enrolled, with its listed role, through an invite
 *  that `issuerRole` (the issuer as already vouched for) was allowed to make, within its signed limit. */
function provesEnrolment(meshId: string, m: Listed, a: AdmissionInfo, issuerRole: MemberInfo["role"], claims: Claims): boolean {
  if (a.role !== m.role) return false;
  if (!(issuerRole === "owner" || (issuerRole === "admin" && a.role === "member"))) return false;
  if (a.claimedAt > a.expiresAt * 1000 + CLAIM_SKEW_MS) return false;
  if (!claims.valid.has(m)) return false;
  const limit = signedLimit(meshId, a);
  return (
    limit !== undefined &&
    verifyDetached(a.inviteSignature, inviteCanonical(meshId, a.inviteId, a.expiresAt, a.role, a.issuerPubkey), a.issuerPubkey) &&
    (limit === null || claims.count(a) <= limit)
  );
}

/** The owner's record of its removals (config `removed`): the keys it removed, the invites they
 *  joined with, and the members vouched for when a removal was made (who may keep an invite or an
 *  issuer that is now closed). */
export type Removals = { keys: string[]; invites: string[]; kept: string[] };

export const NO_REMOVALS: Readonly<Removals> = { keys: [], invites: [], kept: [] };

/** Whether the owner's own record excludes `m`, whatever the broker says: a key it removed; or an
 *  enrolment through the invite a removed member joined with (whose link the removed member still
 *  holds) or by a removed admin (who can still sign invites), unless `m` was vouched for when the
 *  removal was made. */
function removedByOwner(m: Listed, r: Readonly<Removals>): boolean {
  if (r.keys.includes(m.pubkey)) return true;
  const a = m.admission;
  return a != null && (r.invites.includes(a.inviteId) || r.keys.includes(a.issuerPubkey)) && !r.kept.includes(m.pubkey);
}

/** The list as a list of member records (it comes from the broker: anything else is ignored), each
 *  with `admission` null where the broker gave none (a broker of schema 1–2 lists no such field), and
 *  `removals` without the owner's key (a record naming it, written by a kick of itself the broker
 *  refused before that was checked, would shut out everyone it invites). */
function cleaned(ownerPubkey: string, members: readonly Listed[], removals: Readonly<Removals>): [Listed[], Readonly<Removals>] {
  const records = members.filter((m) => typeof m === "object" && m !== null && typeof m.pubkey === "string").map((m) => ({ ...m, admission: m.admission ?? null }));
  return [records, removals.keys.includes(ownerPubkey) ? { ...removals, keys: removals.keys.filter((k) => k !== ownerPubkey) } : removals];
}

/** Splits the broker's member list into the members the owner can vouch for (by key; the owner
 *  itself included) and the rest. Removed members are in neither: those the broker lists as
 *  removed, and those the owner's own record `removals` excludes. */
export function vouchedMembers(meshId: string, ownerPubkey: string, members: readonly Listed[], removals: Readonly<Removals> = NO_REMOVALS, counts: ClaimCounts = NO_COUNTS): { vouched: Map<string, Listed>; unverified: Listed[] } {
  [members, removals] = cleaned(ownerPubkey, members, removals);
  const active = members.filter((m) => m.revokedAt === null && !removedByOwner(m, removals));
  const roles = enrolledRoles(meshId, ownerPubkey, members, removals, counts);
  const vouched = new Map(active.filter((m) => roles.has(m.pubkey)).map((m) => [m.pubkey, m]));
  return { vouched, unverified: active.filter((m) => !roles.has(m.pubkey)) };
}

/** The member keys whose enrolment traces to the owner's signatures, the owner's included: the keys
 *  a direct message may come from (MeshSession.learnSenders). A member the broker lists as removed
 *  keeps its key here (what it sent before the removal is still its own, and the broker's list is
 *  no proof either way); one the owner's own record removed does not. `members` may be the whole
 *  list, or member_lookup's rows for one key with its `counts` (as for recipientDoubt). */
export function enrolledKeys(meshId: string, ownerPubkey: string, members: readonly Listed[], removals: Readonly<Removals> = NO_REMOVALS, counts: ClaimCounts = NO_COUNTS): Set<string> {
  [members, removals] = cleaned(ownerPubkey, members, removals);
  const keys = new Set(enrolledRoles(meshId, ownerPubkey, members, removals, counts).keys());
  for (const k of removals.keys) keys.delete(k);
  return keys;
}

/** The role of each key whose enrolment traces to the owner: the owner, then each member an owner
 *  or traced admin invited, as its admission evidence proves (`members` and `removals` cleaned). */
function enrolledRoles(meshId: string, ownerPubkey: string, members: readonly Listed[], removals: Readonly<Removals>, counts: ClaimCounts): Map<string, MemberInfo["role"]> {
  const roles = new Map<string, MemberInfo["role"]>([[ownerPubkey, "owner"]]);
  // Admins vouch for the members they invited: repeat until nothing new is vouched for. A member is
  // checked once, when its issuer is vouched for (its role never changes after), so a long forged
  // list costs one check per row, not one per row per pass.
  const checked = new Set<Listed>();
  const claims = verifiedClaims(members, counts);
  for (let grew = true; grew; ) {
    grew = false;
    for (const m of members) {
      if (checked.has(m) || roles.has(m.pubkey) || !m.admission || (removedByOwner(m, removals) && !removals.keys.includes(m.pubkey))) continue;
      const issuerRole = roles.get(m.admission.issuerPubkey);
      if (!issuerRole) continue;
      checked.add(m);
      if (provesEnrolment(meshId, m, m.admission, issuerRole, claims)) {
        roles.set(m.pubkey, m.role);
        grew = true;
      }
    }
  }
  return roles;
}

/** Why a direct message to `key` might be read by someone the sender cannot vouch for, or null
 *  when it will not: `key` is the owner's, a member's whose enrolment checks out (above), or a
 *  session's whose attestation such a member signed. Keys and attestations come from the broker's
 *  lists, which it could fill with a key of its own under a member's name; this is what keeps it
 *  from reading DMs sent by name. (An attestation past its expiry still shows whose key it is.)
 *  `members` may be the whole list, or member_lookup's rows for the key's member with its
 *  `counts`; `peers` need only hold the key's own row. */
export function recipientDoubt(meshId: string, ownerPubkey: string, key: string, members: readonly Listed[], peers: readonly PeerInfo[], removals: Readonly<Removals> = NO_REMOVALS, counts: ClaimCounts = NO_COUNTS): string | null {
  if (key === ownerPubkey) return null;
  if (removals.keys.includes(key)) return `${key.slice(0, 12)} belongs to a member you removed`;
  const { vouched, unverified } = vouchedMembers(meshId, ownerPubkey, members, removals, counts);
  if (vouched.has(key)) return null;
  const member = unverified.find((m) => m.pubkey === key);
  if (member) return enrolmentDoubt(meshId, member, members, counts);
  const session = peers.find((p) => typeof p === "object" && p !== null && p.pubkey === key && p.kind === "session");
  if (!session) return `${key.slice(0, 12)} is not a member or session of this mesh`;
  const att = session.attestation;
  if (!att) return `the session ${peerLabel(session)} has no attestation by its member key (it was last seen before the broker kept them); send to the member instead`;
  if (att.sessionPubkey !== key || !attestationSignatureValid(att)) {
    return `the session ${peerLabel(session)} shows an attestation that does not verify`;
  }
  if (att.parentMemberPubkey !== ownerPubkey && !vouched.has(att.parentMemberPubkey)) {
    return `the session ${peerLabel(session)} is attested by a member whose enrolment cannot be checked`;
  }
  return null;
}

/** Why `member`'s enrolment does not check out, for the reasons a user can act on. */
function enrolmentDoubt(meshId: string, member: Listed, members: readonly Listed[], counts: ClaimCounts): string {
  const who = peerLabel(member);
  const a = member.admission;
  const limit = a ? signedLimit(meshId, a) : undefined;
  const claimed = a ? verifiedClaims(members, counts).count(a) : 0;
  if (a && typeof limit === "number" && claimed > limit) {
    return `${who} is one of ${claimed} members the broker shows enrolled through invite ${a.inviteId}, which its issuer signed for ${limit} use${limit === 1 ? "" : "s"}: the broker let more link holders in than the invite allows; ask the mesh owner to check the member list`;
  }
  return `the enrolment of ${who} cannot be checked: the broker shows no invite and claim signed back to the mesh owner (members enrolled before brokers kept that evidence must be invited again)`;
}
