// What a restore takes back: the audit entries (docs/protocol.md §9) of the database it replaces
// that the backup does not hold. A backup older than a kick brings the kicked member back, with the
// invite it used and the key epoch it read; the restore names each such entry and the command that
// does it again, as whoever did it would run it. Read before the replaced database is moved aside.
import { existsSync, rmSync, statSync } from "node:fs";
import { openFileChains } from "../store/sqlite/data-file.ts";
import type { ChainEntry } from "../protocol/audit-chain.ts";
import { shellCommand } from "../config/command-line.ts";
import { CAPS } from "../protocol/choices.ts";
import type { Cap } from "../protocol/fields.ts";

/** An entry the restore undoes that took access away or changed it: `redo` is the command that
 *  does it again, run by `who` (null when no command does it: `what` says why). */
export type LostEntry = { seq: number; eventType: string; createdAt: string; what: string; who: string | null; redo: string | null };

/** One mesh of the replaced database: `gone` when the backup does not hold it at all. */
export type MeshLosses = { meshId: string; slug: string; gone: boolean; entries: LostEntry[]; others: number };

/** null: there was no database to replace. `comparable: false`: it could not be read, so what the
 *  restore undoes is not known (`why`). */
export type RestoreLosses = null | { comparable: true; meshes: MeshLosses[] } | { comparable: false; why: string };

const SIDE = ["-wal", "-shm"] as const;

/** Entries read per query: chains can be long, memory stays bounded. */
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
  let before: Chains | undefined;
  let after: Chains | undefined;
  // Reading a WAL database makes its -shm (and an empty -wal): the restore keeps the replaced
  // database aside as it was, so what this read made goes again (the restore holds the lock).
  const made = SIDE.filter((suffix) => !existsSync(replaced + suffix));
  try {
    before = openFileChains(replaced);
    after = openFileChains(restored);
    return { comparable: true, meshes: await compare(before, after) };
  } catch (err) {
    return { comparable: false, why: (err as Error).message };
  } finally {
    before?.close();
    after?.close();
    for (const suffix of made) if (statSync(replaced + suffix, { throwIfNoEntry: false })?.size === 0 || suffix === "-shm") rmSync(replaced + suffix, { force: true });
  }
}

async function compare(before: Chains, after: Chains): Promise<MeshLosses[]> {
  const kept = await after.auditSizes();
  const out: MeshLosses[] = [];
  for (const meshId of (await before.auditSizes()).keys()) {
    const all: ChainEntry[] = [];
    for await (const e of entriesOf(before, meshId)) all.push(e);
    const names = memberNames(all);
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
    const lost = all.filter((e) => e.seq > common).map((e) => lostEntry(e, slug, names));
    const entries = lost.filter((e): e is LostEntry => e !== null);
    if (lost.length > 0) out.push({ meshId, slug, gone: false, entries, others: lost.length - entries.length });
  }
  return out;
}

type Payload = Record<string, unknown>;

/** Member id and member key → display name, from the chain's member_joined entries. */
function memberNames(entries: readonly ChainEntry[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const e of entries) {
    const p = e.payload as Payload;
    // The owner's name is in no entry: its key says who.
    if (e.eventType === "mesh_created") names.set(String(p.ownerPubkey), "the owner");
    if (e.eventType !== "member_joined") continue;
    names.set(String(p.memberId), String(p.displayName));
    names.set(String(p.pubkey), String(p.displayName));
  }
  return names;
}

/** A lost entry that took access away or changed it, with the command that does it again; null
 *  for one whose loss takes nothing away that was meant to be gone (a join, a topic, a new invite:
 *  counted as `others`). */
function lostEntry(e: ChainEntry, slug: string, names: Map<string, string>): LostEntry | null {
  const p = e.payload as Payload;
  const name = (id: unknown) => names.get(String(id)) ?? String(id);
  const mesh = ["--mesh", slug];
  const base = { seq: e.seq, eventType: e.eventType, createdAt: e.createdAt };
  const owner = "the owner";
  switch (e.eventType) {
    case "member_revoked": {
      const reason = typeof p.reason === "string" && p.reason ? ["--reason", p.reason] : [];
      const verb = p.ban ? "ban" : "kick";
      return { ...base, what: `${name(p.memberId)} was ${p.ban ? "banned" : "kicked"}: the restore makes them a member again`, who: owner, redo: shellCommand(["claudemesh", verb, name(p.memberId), ...mesh, ...reason]) };
    }
    case "member_left":
      return { ...base, what: `${name(p.memberId)} left: the restore makes them a member again`, who: owner, redo: shellCommand(["claudemesh", "kick", name(p.memberId), ...mesh]) };
    case "key_rotated":
      return { ...base, what: `key epoch ${String(p.epoch)} (${p.reason ?? "rekey"}): the broker is back at an older epoch`, who: owner, redo: shellCommand(["claudemesh", "rekey", ...mesh]) };
    case "invite_revoked":
      // One a removal revoked comes back with that removal's redo (a kick revokes it again).
      if (p.reason) return { ...base, what: `invite ${String(p.inviteId)} was revoked (${String(p.reason)}): the removal's redo revokes it again`, who: null, redo: null };
      return { ...base, what: `invite ${String(p.inviteId)} was revoked: it works again`, who: "the owner or an admin", redo: shellCommand(["claudemesh", "invite", "revoke", String(p.inviteId), ...mesh]) };
    case "grant_changed":
      return grantLost(base, p, slug, name);
    default:
      return null;
  }
}

function grantLost(base: Pick<LostEntry, "seq" | "eventType" | "createdAt">, p: Payload, slug: string, name: (id: unknown) => string): LostEntry {
  const caps = Array.isArray(p.caps) ? (p.caps as Cap[]) : null;
  const who = name(p.recipient);
  const named = name(p.sender);
  // The owner, a session: the CLI takes a peer's key where its name is not known.
  const sender = named === String(p.sender) ? `${named.slice(0, 12)}… (a session's key)` : named;
  const peer = named === String(p.sender) || named === "the owner" ? String(p.sender) : named;
  if (caps === null) return { ...base, what: `${who} removed their entry for ${sender} (back to the defaults)`, who, redo: null };
  const what = caps.length === 0 ? `${who} blocked ${sender}` : `${who} allowed ${sender} only: ${caps.join(", ")}`;
  const mesh = ["--mesh", slug];
  // `grant` adds to what the sender may, `revoke` takes away: both together set the entry exactly.
  const others = CAPS.filter((c) => !caps.includes(c));
  const redo =
    caps.length === 0
      ? shellCommand(["claudemesh", "block", peer, ...mesh])
      : [shellCommand(["claudemesh", "grant", peer, ...caps, ...mesh]), ...(others.length ? [shellCommand(["claudemesh", "revoke", peer, ...others, ...mesh])] : [])].join(" && ");
  return { ...base, what, who, redo };
}
