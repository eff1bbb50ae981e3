// The tamper classes of reliability plan T24, applied to a mesh's audit chain the way someone who
// can write the broker's database can: the result is the rows the chain then holds, in seq order
// with unique seqs (the table's primary key), so every class can be written back into a real
// database. Each comes with what verifying must report, from its positions alone:
// - `brokenAt`: the seq verifyChain names (null: the chain alone still verifies);
// - `firstChanged`: the first seq whose entry is not the one there before (changed or gone), so a
//   member holding a checkpoint at seq c sees the tamper exactly when firstChanged <= c.
import fc from "fast-check";
import { auditHash, GENESIS, type ChainEntry } from "../../src/protocol/audit-chain.ts";

export const TAMPERS = ["edit", "delete", "insert", "swap", "truncate", "rehash", "restore", "replace", "append"] as const;
export type TamperKind = (typeof TAMPERS)[number];
export type Tampered = { kind: TamperKind; entries: ChainEntry[]; brokenAt: number | null; firstChanged: number; what: string };

type Content = Pick<ChainEntry, "meshId" | "eventType" | "actor" | "payload" | "createdAt">;

/** The entry `content` makes at seq `seq` after `prev` (undefined: the first). */
export function entryAfter(prev: ChainEntry | undefined, seq: number, c: Content): ChainEntry {
  const prevHash = prev?.hash ?? GENESIS;
  return { ...c, seq, prevHash, hash: auditHash(prevHash, c.meshId, c.eventType, c.actor, c.payload, c.createdAt) };
}

/** Renumbers and re-hashes from index `from` on: what an operator rewriting history does. */
export function relink(entries: readonly ChainEntry[], from: number): ChainEntry[] {
  const out = entries.slice(0, from);
  for (let i = from; i < entries.length; i++) out.push(entryAfter(out[i - 1], i + 1, entries[i]!));
  return out;
}

/** `n` entries of invented content for `meshId` (`tag` keeps two batches apart). */
export function invented(meshId: string, n: number, tag: string): Content[] {
  return Array.from({ length: n }, (_, i) => ({
    meshId,
    eventType: "grant_changed",
    actor: "mbr_forger_0001",
    payload: { forged: tag, i, caps: ["dm"] },
    createdAt: new Date(Date.UTC(2030, 0, 1, 0, 0, i)).toISOString(),
  }));
}

/** A chain of `n` entries of invented content, valid from genesis. */
export const inventedChain = (meshId: string, n: number, tag: string) => relink(invented(meshId, n, tag) as ChainEntry[], 0);

const FIELDS = ["payload", "actor", "eventType", "createdAt", "prevHash", "hash"] as const;

function edited(e: ChainEntry, field: (typeof FIELDS)[number]): ChainEntry {
  switch (field) {
    case "payload":
      return { ...e, payload: { was: e.payload, edited: true } };
    case "actor":
      return { ...e, actor: e.actor === "mbr_forger_0001" ? null : "mbr_forger_0001" };
    case "eventType":
      return { ...e, eventType: e.eventType === "member_revoked" ? "member_left" : "member_revoked" };
    case "createdAt":
      return { ...e, createdAt: new Date(Date.parse(e.createdAt) + 1).toISOString() };
    default:
      // A hash edited by one hex digit.
      return { ...e, [field]: e[field] === GENESIS ? "0".repeat(64) : (e[field][0] === "0" ? "1" : "0") + e[field].slice(1) };
  }
}

/** Random tampers of `kind` on `base` (at least 2 entries), positions uniform over the chain. */
export function tamperOf(kind: TamperKind, base: readonly ChainEntry[]): fc.Arbitrary<Tampered> {
  const n = base.length;
  const meshId = base[0]!.meshId;
  const seqIn = (min: number, max: number) => fc.integer({ min, max });
  const t = (entries: ChainEntry[], brokenAt: number | null, firstChanged: number, what: string): Tampered => ({ kind, entries, brokenAt, firstChanged, what });
  switch (kind) {
    case "edit":
      return fc.tuple(seqIn(1, n), fc.constantFrom(...FIELDS)).map(([p, field]) => {
        const entries = base.slice();
        entries[p - 1] = edited(base[p - 1]!, field);
        return t(entries, p, p, `${field} of entry ${p} edited`);
      });
    case "delete":
      // The last entry deleted is a truncation (below).
      return fc.tuple(seqIn(1, n - 1), fc.boolean()).map(([p, renumber]) => {
        const without = [...base.slice(0, p - 1), ...base.slice(p)];
        return renumber
          ? t(without.map((e, i) => (i < p - 1 ? e : { ...e, seq: i + 1 })), p, p, `entry ${p} deleted, later seqs renumbered`)
          : t(without, p + 1, p, `entry ${p} deleted, a gap left`);
      });
    case "insert":
      // A well-made forgery: linked to the entry before it, later seqs moved up. One appended at
      // the end is not a tamper any check can see (entries are not signed by members).
      return seqIn(1, n).map((p) => {
        const forged = entryAfter(base[p - 2], p, invented(meshId, 1, `insert-${p}`)[0]!);
        return t([...base.slice(0, p - 1), forged, ...base.slice(p - 1).map((e) => ({ ...e, seq: e.seq + 1 }))], p + 1, p, `an entry inserted at ${p}`);
      });
    case "swap":
      return fc.tuple(seqIn(1, n), seqIn(1, n)).filter(([i, j]) => i !== j).map(([a, b]) => {
        const [i, j] = a < b ? [a, b] : [b, a];
        const entries = base.slice();
        entries[i - 1] = { ...base[j - 1]!, seq: i };
        entries[j - 1] = { ...base[i - 1]!, seq: j };
        return t(entries, i, i, `entries ${i} and ${j} swapped`);
      });
    case "truncate":
      return seqIn(0, n - 1).map((keep) => t(base.slice(0, keep), null, keep + 1, `truncated to ${keep} entries`));
    case "rehash":
      return seqIn(1, n).map((p) => {
        const entries = base.slice();
        entries[p - 1] = edited(base[p - 1]!, "payload");
        return t(relink(entries, p - 1), null, p, `entry ${p} edited and the chain re-hashed from it`);
      });
    case "restore":
      // An older backup (a prefix: the chain only grows), then the broker appending after it.
      return fc.tuple(seqIn(0, n - 1), fc.integer({ min: 0, max: 5 })).map(([b, k]) => {
        const entries = relink([...base.slice(0, b), ...(invented(meshId, k, `after-restore-${b}`) as ChainEntry[])], b);
        return t(entries, null, b + 1, `a backup of ${b} entries restored, then ${k} appended`);
      });
    case "replace":
      return seqIn(1, n + 5).map((m) => t(inventedChain(meshId, m, `replace-${m}`), null, 1, `the chain replaced by ${m} invented entries`));
    case "append":
      // Entries invented at the end, linked as the broker links its own: nothing before them changed.
      return fc.integer({ min: 1, max: 5 }).map((k) => t(relink([...base, ...(invented(meshId, k, `append-${k}`) as ChainEntry[])], n), null, n + 1, `${k} invented entries appended`));
  }
}
