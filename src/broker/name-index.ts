// The keys of a roster by compared name (nameSkeleton, docs/protocol.md §4.2.1), so that
// `peer_lookup` finds the peers a name names without comparing every name of the mesh
// (handlers/lookup.ts), and each key's place in list_peers' order, so that it lists them in it.
//
// A superset, checked at each lookup: a key is listed under every name it was indexed with since
// the index was built (its stored name, and at the build its live one too), and is never taken
// out from under an old name. A lookup keeps a candidate only if it is still in the roster and the
// name it goes by now compares equal. So the roster's patches only ever add (RosterCache's
// addMember and addSession) or forget a place (a row taken out of the roster's maps), and a name
// that changes on the live connection alone needs no patch: a connection's name is the one its
// hello stored (and put into the roster) just before it was attached, or its member's stored name.
import { nameSkeleton } from "../protocol/name-compare.ts";

export class NameIndex {
  /** Name → compared form, so that a name is normalised once (live names change with hellos:
   *  past `memoLimit` names it starts again). */
  private readonly memo = new Map<string, string>();
  /** Compared name → keys indexed under it. */
  private readonly byName = new Map<string, Set<string>>();
  /** Key → its place: members and sessions each in the order of the roster's maps, which is
   *  list_peers' (peer-rows.ts). */
  private readonly places = new Map<string, number>();
  private nextPlace = 0;
  private entries = 0;

  constructor(private readonly memoLimit: number) {}

  /** `name` as peer_lookup compares it. */
  skeleton(name: string): string {
    let s = this.memo.get(name);
    if (s !== undefined) return s;
    if (this.memo.size >= this.memoLimit) this.memo.clear();
    this.memo.set(name, (s = nameSkeleton(name)));
    return s;
  }

  /** Indexes `pubkey` under `name`. A key with no place (new to the roster's map, or taken out of
   *  it since) goes last, as Map.set puts it; one with a place keeps it. */
  add(pubkey: string, name: string): void {
    if (!this.places.has(pubkey)) this.places.set(pubkey, this.nextPlace++);
    const skeleton = this.skeleton(name);
    let keys = this.byName.get(skeleton);
    if (!keys) this.byName.set(skeleton, (keys = new Set()));
    if (keys.has(pubkey)) return;
    keys.add(pubkey);
    this.entries++;
  }

  /** The row of `pubkey` left the roster's map: back, it goes last. Its names stay (see above). */
  forget(pubkey: string): void {
    this.places.delete(pubkey);
  }

  /** Keys indexed under `skeleton`: the candidates, to be checked by the caller. */
  candidates(skeleton: string): ReadonlySet<string> {
    return this.byName.get(skeleton) ?? EMPTY;
  }

  /** Where `pubkey` comes among the rows of its kind (members, sessions) in list_peers. */
  place(pubkey: string): number {
    return this.places.get(pubkey) ?? Infinity;
  }

  /** Index entries, stale ones included: past a few times the roster, the index is built again. */
  get size(): number {
    return this.entries;
  }
}

const EMPTY: ReadonlySet<string> = new Set();
