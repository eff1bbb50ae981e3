// A per-mesh cache of members and live sessions, so routing a message does not list the mesh
// from storage each time. Every change this broker makes to membership or sessions invalidates
// the mesh's entry; entries also expire after ROSTER_TTL_MS so that a second broker sharing the
// database (a future PostgreSQL deployment) converges.
import type { Grant, Member, Session, Store } from "../store/types.ts";

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
};

export class RosterCache {
  private readonly meshes = new Map<string, Roster>();
  /** One load per mesh at a time: the sends of one tick that find the entry expired share it. */
  private readonly loading = new Map<string, { generation: number; roster: Promise<Roster> }>();
  /** Bumped by invalidate: a load that started before a change must not be cached after it. */
  private readonly generations = new Map<string, number>();
  constructor(
    private readonly store: Store,
    /** Sessions unseen for longer than this are not recipients (their messages would only expire). */
    private readonly sessionHorizonMs: number,
    private readonly now: () => number,
  ) {}

  async get(meshId: string): Promise<Roster> {
    const cached = this.meshes.get(meshId);
    const t = this.now();
    // A clock stepped back makes the age negative: stale, or the entry would live for the step.
    if (cached && t >= cached.loadedAt && t - cached.loadedAt < ROSTER_TTL_MS) return cached;
    const generation = this.generations.get(meshId) ?? 0;
    const inflight = this.loading.get(meshId);
    if (inflight?.generation === generation) return inflight.roster;
    const roster = this.load(meshId, t).finally(() => {
      if (this.loading.get(meshId)?.roster === roster) this.loading.delete(meshId);
    });
    this.loading.set(meshId, { generation, roster });
    const r = await roster;
    if ((this.generations.get(meshId) ?? 0) === generation) this.meshes.set(meshId, r);
    return r;
  }

  invalidate(meshId: string): void {
    this.meshes.delete(meshId);
    this.generations.set(meshId, (this.generations.get(meshId) ?? 0) + 1);
  }

  private async load(meshId: string, t: number): Promise<Roster> {
    const [members, sessions, grants] = await Promise.all([this.store.listMembers(meshId), this.store.listSessions(meshId, t - this.sessionHorizonMs), this.store.meshGrants(meshId)]);
    const r: Roster = { loadedAt: t, members: new Map(), byPubkey: new Map(), sessions: new Map(), sessionsOf: new Map(), grantsTo: new Map() };
    for (const m of members) {
      if (m.revokedAt !== null) continue;
      r.members.set(m.id, m);
      r.byPubkey.set(m.pubkey, m);
    }
    for (const s of sessions) {
      if (!r.members.has(s.memberId)) continue;
      r.sessions.set(s.pubkey, s);
      const list = r.sessionsOf.get(s.memberId);
      if (list) list.push(s);
      else r.sessionsOf.set(s.memberId, [s]);
    }
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
