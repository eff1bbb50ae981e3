// A per-mesh cache of members and live sessions, so routing a message does not list the mesh
// from storage each time. A change this broker makes to one member or session is applied to the
// mesh's entry (putSession, dropSession, putMember, dropMember, refresh); other changes (grants)
// invalidate it. Entries also expire after ROSTER_TTL_MS so that a second broker sharing the
// database (a future PostgreSQL deployment) converges.
//
// Why patched rather than reloaded: a reload reads every member and live session of the mesh (12 ms
// for 1,000 members with 4 sessions each, 30 ms for 5,000 members), and the changes that used to
// invalidate the entry come in proportion to the mesh's size (every session that starts or ends,
// every presence that goes away): in a big mesh the sends after them paid a reload each.
import type { Grant, Member, Session, Store } from "../store/types.ts";
import type { NameIndex } from "./name-index.ts";

const ROSTER_TTL_MS = 30_000;

export type Roster = {
  loadedAt: number;
  members: Map<string, Member>;
  byPubkey: Map<string, Member>;
  sessions: Map<string, Session>;
  sessionsOf: Map<string, Session[]>;
  /** Every grant row of the mesh (recipient-side capabilities), by recipient member id: a fan-out
   *  looks up each recipient's own rows, not every row of the mesh for each recipient. */
  grantsTo: Map<string, Grant[]>;
  /** The keys by compared name, built by the first `peer_lookup` after a load (lookup.ts) and
   *  kept by the patches below from then on; null until then, so that a mesh nobody looks a name
   *  up in does not pay for it at each load, and again once stale names outgrow it (indexName). */
  names: NameIndex | null;
};

/** Names a roster's index keeps (stale ones included) and normalises at most before it is built
 *  again: a few times the roster, so it never outgrows the mesh (NameIndex). */
export const nameIndexLimit = (r: Roster) => 4 * (r.members.size + r.sessions.size) + 256;

/** Whether a roster loaded at `loadedAt` may still be used at `t`. A clock stepped back makes the
 *  age negative: stale, or the entry would live for the step. */
const fresh = (r: Roster, t: number) => t >= r.loadedAt && t - r.loadedAt < ROSTER_TTL_MS;

/** A load under way; `stale` once the mesh changed during it (invalidate): it is then used by
 *  those who asked, never cached. */
type Load = { roster: Promise<Roster>; stale: boolean };

export class RosterCache {
  /** Loaded entries, the latest load last (a load re-inserts its mesh), so that expired ones are
   *  dropped from the front: a mesh used once and never again does not keep its roster (and every
   *  member and session row in it) for the life of the process. */
  private readonly meshes = new Map<string, Roster>();
  /** One load per mesh at a time: the sends of one tick that find the entry expired share it.
   *  Nothing is kept per mesh once its load is over (a counter per mesh ever loaded was). */
  private readonly loading = new Map<string, Load>();
  constructor(
    private readonly store: Store,
    /** Sessions unseen for longer than this are not recipients (their messages would only expire):
     *  the messageTtl in force, read at each load. */
    private readonly sessionHorizonMs: () => number,
    private readonly now: () => number,
  ) {}

  async get(meshId: string): Promise<Roster> {
    const cached = this.meshes.get(meshId);
    const t = this.now();
    if (cached && fresh(cached, t)) return cached;
    const inflight = this.loading.get(meshId);
    if (inflight) return inflight.roster;
    // On a load only, so a send answered from the cache allocates nothing for it: a mesh in use
    // reloads every ROSTER_TTL_MS, which sweeps the others.
    this.dropExpired(t);
    // Cached in the load's own step, before it stops counting as under way: a change that comes
    // after it then patches the entry, one that comes before keeps it out (patch). Cached in the
    // caller's step after `await`, a change made in the microtasks between found neither.
    const load = { stale: false } as Load;
    load.roster = this.load(meshId, t)
      .then((r) => {
        if (!load.stale) {
          this.meshes.delete(meshId);
          this.meshes.set(meshId, r);
        }
        return r;
      })
      .finally(() => {
        if (this.loading.get(meshId) === load) this.loading.delete(meshId);
      });
    this.loading.set(meshId, load);
    return load.roster;
  }

  /** Drops the mesh's entry; a load under way is not cached (it may have read the store before
   *  the change), and the next get starts another. */
  invalidate(meshId: string): void {
    this.meshes.delete(meshId);
    const inflight = this.loading.get(meshId);
    if (!inflight) return;
    inflight.stale = true;
    this.loading.delete(meshId);
  }

  /** Meshes with an entry cached or loading. */
  get size(): number {
    return this.meshes.size + this.loading.size;
  }

  /** Drops expired entries from the front, up to the first fresh one (amortized O(1) a load). */
  private dropExpired(t: number): void {
    for (const [meshId, r] of this.meshes) {
      if (fresh(r, t)) return;
      this.meshes.delete(meshId);
    }
  }

  /** The session as just stored (its hello's upsert): a recipient from now on, unless ended. */
  putSession(meshId: string, s: Session): void {
    this.patch(meshId, (r) => {
      removeSession(r, s.pubkey);
      if (s.endedAt === null && s.lastSeenAt >= this.now() - this.sessionHorizonMs() && r.members.has(s.memberId)) addSession(r, s);
    });
  }

  /** The session ended (session_end, or ended to make room for a newer one). */
  dropSession(meshId: string, pubkey: string): void {
    this.patch(meshId, (r) => removeSession(r, pubkey));
  }

  /** The member as just stored (an invite claim); a removed one leaves the roster. */
  putMember(meshId: string, m: Member): void {
    if (m.revokedAt !== null) return this.dropMember(meshId, m.id);
    this.patch(meshId, (r) => addMember(r, m));
  }

  /** The member was removed: it and its sessions are no recipients any more. */
  dropMember(meshId: string, memberId: string): void {
    this.patch(meshId, (r) => {
      const m = r.members.get(memberId);
      if (m) {
        r.byPubkey.delete(m.pubkey);
        r.names?.forget(m.pubkey);
      }
      r.members.delete(memberId);
      for (const s of r.sessionsOf.get(memberId) ?? []) {
        r.sessions.delete(s.pubkey);
        r.names?.forget(s.pubkey);
      }
      r.sessionsOf.delete(memberId);
    });
  }

  /** Reads one key's row (a member's or a session's) into the entry again, after the store wrote
   *  to it: what list_peers shows of an offline peer (status, summary, last seen, attestation),
   *  which the rows cached while it was online do not hold. Call it once that write resolved.
   *  Never rejects: a read that fails drops the entry instead. */
  async refresh(meshId: string, pubkey: string): Promise<void> {
    const r = this.meshes.get(meshId);
    if (this.loading.has(meshId)) return this.invalidate(meshId);
    if (!r) return;
    const before = cachedRow(r, pubkey);
    try {
      const member = await this.store.getMemberByPubkey(meshId, pubkey);
      const session = member ? null : await this.store.getSession(meshId, pubkey);
      // Replaced, invalidated or expired meanwhile (each takes `r` out of the cache): what replaced
      // it was read after the write.
      if (this.meshes.get(meshId) !== r) return;
      // The key was patched while the read was out (removed, ended, started again): which of that
      // change and the row read is newer is not known here, and the row would bring a removed
      // member or an ended session back. The next get reads the mesh again.
      if (cachedRow(r, pubkey) !== before) return this.invalidate(meshId);
      if (member) this.putMember(meshId, member);
      else if (session) this.putSession(meshId, session);
      else this.dropSession(meshId, pubkey);
    } catch {
      this.invalidate(meshId);
    }
  }

  /** Applies a change to the mesh's cached entry, if any. A load under way may have read the store
   *  before the change: it is not cached (as after invalidate). */
  private patch(meshId: string, change: (r: Roster) => void): void {
    if (this.loading.has(meshId)) return this.invalidate(meshId);
    const r = this.meshes.get(meshId);
    if (r) change(r);
  }

  private async load(meshId: string, t: number): Promise<Roster> {
    const [members, sessions, grants] = await Promise.all([this.store.listActiveMembers(meshId), this.store.listSessions(meshId, t - this.sessionHorizonMs()), this.store.meshGrants(meshId)]);
    const r: Roster = { loadedAt: t, members: new Map(), byPubkey: new Map(), sessions: new Map(), sessionsOf: new Map(), grantsTo: new Map(), names: null };
    for (const m of members) addMember(r, m);
    for (const s of sessions) if (r.members.has(s.memberId)) addSession(r, s);
    for (const g of grants) {
      const list = r.grantsTo.get(g.recipientMemberId);
      if (list) list.push(g);
      else r.grantsTo.set(g.recipientMemberId, [g]);
    }
    return r;
  }

  /** Every mailbox of a member: its member key and its live session keys. */
  static mailboxesOf(r: Roster, member: Member): string[] {
    const out = [member.pubkey];
    for (const s of r.sessionsOf.get(member.id) ?? []) out.push(s.pubkey);
    return out;
  }
}

/** What the entry holds for a key: its member's row, or its session's. */
const cachedRow = (r: Roster, pubkey: string): Member | Session | undefined => r.byPubkey.get(pubkey) ?? r.sessions.get(pubkey);

/** Every row enters the entry through addMember or addSession, which index its name (NameIndex). */
function addMember(r: Roster, m: Member): void {
  r.members.set(m.id, m);
  r.byPubkey.set(m.pubkey, m);
  indexName(r, m.pubkey, m.displayName);
}

function addSession(r: Roster, s: Session): void {
  r.sessions.set(s.pubkey, s);
  indexName(r, s.pubkey, s.displayName);
  const list = r.sessionsOf.get(s.memberId);
  if (list) list.push(s);
  else r.sessionsOf.set(s.memberId, [s]);
}

/** Indexes a row's name, if the entry has an index. Past nameIndexLimit (the old names of sessions
 *  that said hello under new ones, or ended) it is dropped, for the next lookup to build from the
 *  rows: checked at lookups only, a mesh whose sessions churned through names with no lookup
 *  between kept one entry per hello for as long as the entry lived. */
function indexName(r: Roster, pubkey: string, name: string): void {
  if (!r.names) return;
  r.names.add(pubkey, name);
  if (r.names.size > nameIndexLimit(r)) r.names = null;
}

function removeSession(r: Roster, pubkey: string): void {
  const s = r.sessions.get(pubkey);
  if (!s) return;
  r.sessions.delete(pubkey);
  r.names?.forget(pubkey);
  const rest = (r.sessionsOf.get(s.memberId) ?? []).filter((x) => x.pubkey !== pubkey);
  if (rest.length > 0) r.sessionsOf.set(s.memberId, rest);
  else r.sessionsOf.delete(s.memberId);
}
