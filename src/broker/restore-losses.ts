// What a restore takes back: the audit entries (docs/protocol.md §9) of the database it replaces
// that the backup does not hold. A backup older than a kick brings the kicked member back, with the
// invite it used and the key epoch it read, and an invite used up since works again; the restore
// names each such entry and the command that does it again, as whoever did it would run it. Read
// before the replaced database is moved aside.
import { openFileChains } from "../store/sqlite/data-file.ts";
import type { ChainEntry } from "../protocol/audit-chain.ts";
import { shellCommand } from "../config/command-line.ts";
import { CAPS } from "../protocol/choices.ts";
import { escapeNotPrintable } from "../protocol/names.ts";
import type { Cap } from "../protocol/fields.ts";
import { readingReplaced } from "./restore-target.ts";

/** An entry the restore undoes that took access away or changed it: `redo` is the command that
 *  does it again, run by `who` (null when no command does it: `what` says why). */
export type LostEntry = { seq: number; eventType: string; createdAt: string; what: string; who: string | null; redo: string | null };

/** One mesh of the replaced database: `gone` when the backup does not hold it at all. */
export type MeshLosses = { meshId: string; slug: string; gone: boolean; entries: LostEntry[]; others: number };

/** null: there was no database to replace. `comparable: false`: it could not be read, so what the
 *  restore undoes is not known (`why`). */
export type RestoreLosses = null | { comparable: true; meshes: MeshLosses[] } | { comparable: false; why: string };

/** Entries read per query (a chain can be long); a mesh's replaced chain is then held whole to
 *  compare, which realistic chains afford. */
const PAGE = 500;

type Chains = ReturnType<typeof openFileChains>;

/** Every entry of `meshId`'s chain, page by page. */
async function* entriesOf(chains: Chains, meshId: string): AsyncGenerator<ChainEntry> {
  for (let seq = 0; ; ) {
    const page = await chains.listAudit(meshId, seq, PAGE);
    yield* page;
    if (page.length < PAGE) return;
    seq = page[page.length - 1]!.seq;
  }
}

/** The audit entries of the database `replaced` that the backup copy `restored` lacks, per mesh.
 *  Never throws: a replaced database it cannot read is `comparable: false` with the reason. */
export async function restoreLosses(replaced: string, restored: string): Promise<RestoreLosses> {
  return readingReplaced(replaced, async () => {
    let before: Chains | undefined;
    let after: Chains | undefined;
    try {
      before = openFileChains(replaced);
      after = openFileChains(restored);
      return { comparable: true, meshes: await compare(before, after) };
    } catch (err) {
      return { comparable: false, why: (err as Error).message };
    } finally {
      before?.close();
      after?.close();
    }
  });
}

async function compare(before: Chains, after: Chains): Promise<MeshLosses[]> {
  const kept = await after.auditSizes();
  const out: MeshLosses[] = [];
  for (const meshId of (await before.auditSizes()).keys()) {
    const all: ChainEntry[] = [];
    for await (const e of entriesOf(before, meshId)) all.push(e);
    const slug = String((all[0]?.payload as { slug?: unknown } | undefined)?.slug ?? meshId);
    if (!kept.has(meshId)) {
      out.push({ meshId, slug, gone: true, entries: [], others: all.length });
      continue;
    }
    // The shared history: the entries both chains hold with the same hash (a backup of this very
    // broker shares a prefix; anything after it in the replaced chain is undone).
    const theirs = entriesOf(after, meshId);
    let common = 0;
    for (const e of all) {
      const t = await theirs.next();
      if (t.done || t.value.hash !== e.hash) break;
      common = e.seq;
    }
    await theirs.return(undefined);
    const lost = lostEntries(meshId, all, all.filter((e) => e.seq > common));
    const entries = lost.filter((e): e is LostEntry => e !== null);
    if (lost.length > 0) out.push({ meshId, slug, gone: false, entries, others: lost.length - entries.length });
  }
  return out;
}

type Payload = Record<string, unknown>;

/** A member as its mesh's chain knows it: key, display name (null for the owner, whose name no
 *  entry holds), and whether its own `member_joined` is among the lost entries (`lostJoin`: the
 *  restored mesh does not hold it at all). */
type Member = { pubkey: string; name: string | null; lostJoin: boolean };

/** What the lines about one mesh's lost entries need to know: its members, the invites created
 *  after the backup (`lostInvites`), every invite's uses (`maxUses`) and those revoked after it. */
type Facts = { meshId: string; members: Map<string, Member>; byKey: Map<string, Member>; lostInvites: Set<string>; maxUses: Map<string, number>; revokedInvites: Set<string> };

/** The lost entries (`lost`: the replaced chain `all` after the shared history) that took access
 *  away or changed it, each with its redo; null for the others (counted). */
function lostEntries(meshId: string, all: readonly ChainEntry[], lost: readonly ChainEntry[]): (LostEntry | null)[] {
  const facts: Facts = { meshId, members: new Map(), byKey: new Map(), lostInvites: new Set(), maxUses: new Map(), revokedInvites: new Set() };
  const firstLost = lost[0]?.seq ?? Number.POSITIVE_INFINITY;
  for (const e of all) {
    const p = e.payload as Payload;
    // The owner's member id is the actor of the mesh's first entry.
    const m: Member | null =
      e.eventType === "mesh_created" ? { pubkey: String(p.ownerPubkey), name: null, lostJoin: false } : e.eventType === "member_joined" ? { pubkey: String(p.pubkey), name: String(p.displayName), lostJoin: e.seq >= firstLost } : null;
    if (m) {
      facts.members.set(String(e.eventType === "mesh_created" ? e.actor : p.memberId), m);
      facts.byKey.set(m.pubkey, m);
    }
    if (e.eventType === "invite_created") facts.maxUses.set(String(p.inviteId), Number(p.maxUses));
    if (e.eventType === "invite_created" && e.seq >= firstLost) facts.lostInvites.add(String(p.inviteId));
    if (e.eventType === "invite_revoked" && e.seq >= firstLost) facts.revokedInvites.add(String(p.inviteId));
  }
  // A removal's invite revocations follow it in the chain (one transaction): whether the removal
  // is redone says whether they are.
  let removalRedone = false;
  return lost.map((e) => {
    const entry = lostEntry(e, facts, removalRedone);
    if (e.eventType === "member_revoked" || e.eventType === "member_left") removalRedone = entry?.redo != null;
    return entry;
  });
}

/** A name as a label: in double quotes, with what no name may hold written as its escape, so that
 *  nothing in it can pass for more of the line (a name stored by an older broker may hold ":", "/",
 *  a leading "-", invisible characters). */
const quoted = (name: string) => escapeNotPrintable(JSON.stringify(name));

/** Who `m` is, for the reader: its name as a label and its key's start; the owner as such. */
const label = (m: Member) => (m.name === null ? "the owner" : `${quoted(m.name)} (${m.pubkey.slice(0, 12)}…)`);

/** A lost entry that took access away or changed it, with the command that does it again; null
 *  for one whose loss takes nothing away that was meant to be gone (a join, a topic, a new invite,
 *  a claim that left its invite uses: counted as `others`). Every command names the member by its full key and the mesh by its id
 *  (both what the CLI takes, and neither ambiguous nor able to read as an option). */
function lostEntry(e: ChainEntry, facts: Facts, removalRedone: boolean): LostEntry | null {
  const p = e.payload as Payload;
  const member = facts.members.get(String(p.memberId));
  const who = member ? label(member) : `member ${String(p.memberId)}`;
  const mesh = `--mesh=${facts.meshId}`;
  const base = { seq: e.seq, eventType: e.eventType, createdAt: e.createdAt };
  const owner = "the owner";
  const none = (what: string): LostEntry => ({ ...base, what, who: null, redo: null });
  switch (e.eventType) {
    case "member_revoked":
    case "member_left": {
      const did = e.eventType === "member_left" ? "left" : p.ban ? "was banned" : "was kicked";
      if (member?.lostJoin) return none(`${who} joined after the backup and ${did}: the restored mesh does not hold them, nothing to redo`);
      const reason = typeof p.reason === "string" && p.reason ? [`--reason=${p.reason}`] : [];
      const verb = p.ban ? "ban" : "kick";
      const redo = member ? shellCommand(["claudemesh", verb, mesh, ...reason, "--", member.pubkey]) : null;
      return { ...base, what: `${who} ${did}: the restore makes them a member again${redo ? "" : " (their key is in no entry: find them with claudemesh peers --all)"}`, who: redo ? owner : null, redo };
    }
    case "key_rotated":
      return { ...base, what: `key epoch ${String(p.epoch)} (${p.reason ?? "rekey"}): the broker is back at an older epoch`, who: owner, redo: shellCommand(["claudemesh", "rekey", mesh]) };
    case "invite_revoked": {
      const invite = `invite ${String(p.inviteId)} was revoked${p.reason ? ` (${String(p.reason)})` : ""}`;
      if (facts.lostInvites.has(String(p.inviteId))) return none(`${invite}: it was created after the backup, so the restored mesh does not hold it, nothing to redo`);
      // One a removal revoked comes back with that removal, whose redo revokes it again.
      if (p.reason && removalRedone) return none(`${invite}: the removal's redo revokes it again`);
      return { ...base, what: `${invite}: it works again`, who: "the owner or an admin", redo: shellCommand(["claudemesh", "invite", "revoke", mesh, "--", String(p.inviteId)]) };
    }
    case "invite_claimed": {
      // A use is recorded to refuse reuse: the restore gives back those made since, which matters
      // when they had used the invite up (a link its holders take for dead lives again). Its count
      // cannot be carried over: serve checks it against the restored chain, which lacks the claims.
      const id = String(p.inviteId);
      const usedUp = Number(p.usedCount) >= (facts.maxUses.get(id) ?? Number.POSITIVE_INFINITY);
      // Created after the backup (the restored mesh lacks it), or revoked since (that line's redo).
      if (!usedUp || facts.lostInvites.has(id) || facts.revokedInvites.has(id)) return null;
      return { ...base, what: `invite ${id} was used up after the backup (last by ${who}): the restore gives back the uses made since, so its link works again`, who: "the owner or an admin", redo: shellCommand(["claudemesh", "invite", "revoke", mesh, "--", id]) };
    }
    case "grant_changed":
      return grantLost(base, p, facts);
    default:
      return null;
  }
}

function grantLost(base: Pick<LostEntry, "seq" | "eventType" | "createdAt">, p: Payload, facts: Facts): LostEntry {
  const caps = Array.isArray(p.caps) ? (p.caps as Cap[]) : null;
  const recipient = facts.members.get(String(p.recipient));
  const who = recipient ? label(recipient) : `member ${String(p.recipient)}`;
  const key = String(p.sender);
  const known = facts.byKey.get(key);
  // A key that is no member's is a session's.
  const sender = known ? label(known) : `${key.slice(0, 12)}… (a session's key)`;
  const none = (what: string): LostEntry => ({ ...base, what, who: null, redo: null });
  if (caps === null) return none(`${who} removed their entry for ${sender} (back to the defaults)`);
  const what = caps.length === 0 ? `${who} blocked ${sender}` : `${who} allowed ${sender} only: ${caps.join(", ")}`;
  if (recipient?.lostJoin) return none(`${what}: ${who} joined after the backup, so the restored mesh does not hold them, nothing to redo`);
  const mesh = `--mesh=${facts.meshId}`;
  // `grant` adds to what the sender may, `revoke` takes away: both together set the entry exactly.
  const others = CAPS.filter((c) => !caps.includes(c));
  const redo =
    caps.length === 0
      ? shellCommand(["claudemesh", "block", mesh, "--", key])
      : [shellCommand(["claudemesh", "grant", mesh, "--", key, ...caps]), ...(others.length ? [shellCommand(["claudemesh", "revoke", mesh, "--", key, ...others])] : [])].join(" && ");
  return { ...base, what, who: recipient ? who : null, redo: recipient ? redo : null };
}
