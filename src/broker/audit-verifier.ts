// The broker's check of a mesh's audit chain (`audit_verify`, the dashboard's audit view). The
// chain only grows, and any member may add to it (CHANGE_RATE_PER_SEC) and ask for the check: done
// naively, one request re-hashed the whole chain in one piece of the event loop (~5 µs an entry, so
// a day of one member's grant changes is ~2 s with every other socket waiting) after loading all of
// it into memory. So:
// - a walk reads PAGE entries at a time and yields the event loop between pages;
// - requests for one mesh while a walk runs share that walk;
// - the prefix found valid is kept for AUDIT_RECHECK_MS: a check within that time hashes only what
//   was appended since. After it the whole chain is walked again, so a row changed under a running
//   broker is found within AUDIT_RECHECK_MS (a client that verifies the entries itself, as
//   `claudemesh audit verify` does, does not depend on this at all).
import { GENESIS, verifyChain, type ChainEntry, type ChainPoint, type ChainVerdict } from "../protocol/audit-chain.ts";
import { AUDIT_RECHECK_MS } from "../protocol/limits.ts";
import type { SecurityFacts } from "../store/sqlite/audit-tables.ts";
import type { Store } from "../store/types.ts";
import { ChainReplay, mismatchText, type Mismatch } from "./audit-replay.ts";

/** Entries read (and hashed) between two yields of the event loop: ~5 ms of hashing. */
export const PAGE = 1000;

type Prefix = ChainPoint & { walkedAt: number };

export class AuditVerifier {
  /** The prefix found valid per mesh, oldest whole walk first: one past AUDIT_RECHECK_MS is never
   *  used again, and is dropped from the front at the next check (a mesh checked once and never
   *  again does not keep its prefix for good). */
  private readonly prefixes = new Map<string, Prefix>();
  private readonly walks = new Map<string, Promise<ChainVerdict>>();

  /** `onVerified` sees each page of entries once it verified, in order (a walk that reuses a
   *  fresh prefix shows only what follows it). */
  constructor(
    private readonly store: Pick<Store, "listAudit" | "countAudit">,
    private readonly now: () => number,
    private readonly onVerified?: (meshId: string, page: readonly ChainEntry[]) => void,
  ) {}

  verify(meshId: string): Promise<ChainVerdict> {
    this.dropStale();
    const running = this.walks.get(meshId);
    if (running) return running;
    const walk = this.walk(meshId).finally(() => this.walks.delete(meshId));
    this.walks.set(meshId, walk);
    return walk;
  }

  private async walk(meshId: string): Promise<ChainVerdict> {
    const known = this.prefixes.get(meshId);
    let at: Prefix = known && this.fresh(known) ? known : { seq: 0, hash: GENESIS, walkedAt: this.now() };
    for (;;) {
      const page = await this.store.listAudit(meshId, at.seq, PAGE);
      const verdict = verifyChain(page, at);
      if (!verdict.valid) {
        this.prefixes.delete(meshId);
        // The count is of the whole chain, as a walk of all of it would report.
        return { ...verdict, entries: await this.store.countAudit(meshId) };
      }
      this.onVerified?.(meshId, page);
      at = { seq: verdict.entries, hash: verdict.head, walkedAt: at.walkedAt };
      if (page.length < PAGE) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    // The map is in age order, which dropStale relies on: a walk of the whole chain goes last; one
    // from a fresh prefix keeps that prefix's age, and so its place (moved last, a prefix past
    // AUDIT_RECHECK_MS stayed behind a younger one's until that one aged too).
    if (at.walkedAt !== known?.walkedAt) this.prefixes.delete(meshId);
    this.prefixes.set(meshId, at);
    return { valid: true, entries: at.seq, head: at.hash, brokenAt: null, reason: null };
  }

  /** Whether a walk may start from `p`. A clock that went back since (the wall clock stepped) is
   *  no reason to trust the prefix longer. */
  private fresh(p: Prefix): boolean {
    const age = this.now() - p.walkedAt;
    return age >= 0 && age < AUDIT_RECHECK_MS;
  }

  /** Drops prefixes no walk may start from, from the front up to the first fresh one. */
  private dropStale(): void {
    for (const [meshId, p] of this.prefixes) {
      if (this.fresh(p)) return;
      this.prefixes.delete(meshId);
    }
  }

  /** Meshes with a prefix kept. */
  get size(): number {
    return this.prefixes.size;
  }
}

/** What verifying every chain of a database found: the meshes and entries walked, and the first
 *  chain that does not hold (null: all hold). `brokenAt` is null when no entry is to blame;
 *  `mismatch` is set when the chain holds but a table disagrees with it (audit-replay.ts). */
export type ChainsCheck = { meshes: number; entries: number; broken: { meshId: string; brokenAt: number | null; reason: string; mismatch?: Mismatch } | null };

/** Walks every mesh's chain from genesis, as `audit_verify` does (so it is what members are then
 *  served), in mesh id order, and stops at the first that does not hold. `sizes` are the chains
 *  the store holds (Store.auditSizes: the caller may have weighed them already), and the length a
 *  broken one is reported with. Every mesh has a chain
 *  (its `mesh_created` entry is written with it) and every chain a mesh, so a mesh without entries
 *  or entries without a mesh are damage too: a changed mesh id shows only there. Each verified
 *  chain is also replayed, in the same walk, and compared with its mesh's rows in `facts` (the
 *  tables, read from a database nothing writes to meanwhile, which also say which meshes exist);
 *  rows of a mesh id with neither record nor chain are compared with an empty chain. Throws what
 *  the store throws. */
export async function verifyEveryChain(store: Pick<Store, "listAudit">, facts: ReadonlyMap<string, SecurityFacts>, sizes: ReadonlyMap<string, number>): Promise<ChainsCheck> {
  const meshes = new Set([...facts].filter(([, f]) => f.mesh !== null).map(([id]) => id));
  const chains = new Set(sizes.keys());
  const replays = new Map<string, ChainReplay>();
  const replayOf = (meshId: string) => replays.get(meshId) ?? replays.set(meshId, new ChainReplay()).get(meshId)!;
  // A broken chain's length is in `sizes`: no second count of it (nothing writes meanwhile).
  const counted = { listAudit: store.listAudit.bind(store), countAudit: async (meshId: string) => sizes.get(meshId) ?? 0 };
  const verifier = new AuditVerifier(counted, () => 0, (meshId, page) => replayOf(meshId).apply(page));
  let entries = 0;
  for (const meshId of [...new Set([...chains, ...facts.keys()])].sort()) {
    const v = await verifier.verify(meshId);
    entries += v.entries;
    const rowsOnly = !meshes.has(meshId) && !chains.has(meshId);
    const reason = !v.valid ? v.reason! : rowsOnly ? null : !chains.has(meshId) ? "the mesh has no audit entries (its first, mesh_created, is gone)" : !meshes.has(meshId) ? "the database has audit entries for this mesh but no such mesh" : null;
    if (reason) return { meshes: meshes.size, entries, broken: { meshId, brokenAt: v.brokenAt, reason } };
    const mismatch = replayOf(meshId).diff(facts.get(meshId));
    if (mismatch) return { meshes: meshes.size, entries, broken: { meshId, brokenAt: null, reason: mismatchText(mismatch), mismatch } };
  }
  return { meshes: meshes.size, entries, broken: null };
}

/** What verifyEveryChain found wrong, in words: "the audit chain of mesh M does not verify from
 *  entry N on (why)", or "the members table of mesh M disagrees with the mesh's audit chain
 *  (what)". `where` follows the mesh id (" in /var/lib/claudemesh"). */
export const chainBreak = ({ meshId, brokenAt, reason, mismatch }: NonNullable<ChainsCheck["broken"]>, where = "") =>
  mismatch
    ? `the ${mismatch.table} table of mesh ${meshId}${where} disagrees with the mesh's audit chain (${reason})`
    : `the audit chain of mesh ${meshId}${where} does not verify${brokenAt === null ? "" : ` from entry ${brokenAt} on`} (${reason})`;

/** "audit chains verified: 2 meshes, 17 entries", as serve --check and backup and restore say it. */
export const chainsVerified = ({ meshes, entries }: Pick<ChainsCheck, "meshes" | "entries">) => `audit chains verified: ${meshes} ${meshes === 1 ? "mesh" : "meshes"}, ${entries} ${entries === 1 ? "entry" : "entries"}`;
