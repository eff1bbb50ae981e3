// Presence: who is connected, under which identity, with what status. Guarantees:
// - one Presence per (mesh, identity key), holding every live connection of that identity;
// - a session key has at most one live connection (a newer one replaces the older);
// - when the last connection of an identity closes, peers hear `peer_left` only after the grace
//   period, and a reconnect within it re-attaches silently;
// - events go to every ready connection of the mesh except the identity's own, and only to those
//   that subscribed to them (Conn.events).
import type { Status } from "../protocol/fields.ts";
import type { EventNameT } from "../protocol/server-frames.ts";
import type { Conn, Identity, Whereabouts } from "./conn.ts";
import { randomId } from "../crypto/hash.ts";

export type Presence = {
  key: string;
  identity: Identity;
  conns: Set<Conn>;
  status: Status;
  summary: string;
  where: Whereabouts;
  connectedAt: number;
  /** When this identity's last-seen time was last stored (the liveness round refreshes it). */
  seenStoredAt: number;
  hookToken: string;
  graceTimer: ReturnType<typeof setTimeout> | null;
  /** When its last connection closed (ms), while it waits out the grace; null while connected. */
  leftAt: number | null;
};

/** How long a removal is remembered for handshakes in flight (Hub.markRemoved). */
const REMOVED_MEMORY_MS = 2 * 60_000;

export const presenceKey = (meshId: string, pubkey: string) => `${meshId}\u0000${pubkey}`;

/** An observer of one mesh's events (the dashboard's live view). */
export type HubListener = (event: EventNameT, data: Record<string, unknown>) => void;

export type AttachResult = { presence: Presence; reattached: boolean; replaced: Conn[] };

export class Hub {
  private readonly presences = new Map<string, Presence>();
  private stopped = false;
  private readonly byMesh = new Map<string, Set<Presence>>();
  private readonly byToken = new Map<string, Presence>();
  private readonly listeners = new Map<string, Set<HubListener>>();
  /** Members removed by this process: `meshId\0memberId` → when. */
  private readonly removed = new Map<string, number>();
  /** Connected session presences, and how many per member (`meshId\0memberId`). */
  private readonly connectedSessions = new Set<Presence>();
  private readonly sessionsOf = new Map<string, number>();
  /** Changes to who is present and how they show: see `version`. */
  private changes = 0;

  constructor(
    private readonly graceMs: number,
    /** Called when a presence finally goes away (after grace), to persist last-seen and notify. */
    private readonly onGone: (p: Presence) => void,
  ) {}

  /** Records that a member was removed (its removal committed). A hello authenticated before that
   *  commit reaches attach only after several awaits; the broker checks isRemoved right before
   *  attaching (no await between), so such a hello is refused instead of outliving the removal,
   *  which closed only the connections attached at the time. Kept for REMOVED_MEMORY_MS, longer
   *  than any handshake may last (helloTimeout ≤ 1 min). */
  markRemoved(meshId: string, memberId: string, now: number): void {
    for (const [k, at] of this.removed) {
      if (at > now - REMOVED_MEMORY_MS) break;
      this.removed.delete(k);
    }
    this.removed.set(`${meshId}\u0000${memberId}`, now);
  }

  /** Forgets a removal that did not commit after all (markRemoved goes first: see evict). */
  unmarkRemoved(meshId: string, memberId: string): void {
    this.removed.delete(`${meshId}\u0000${memberId}`);
  }

  isRemoved(meshId: string, memberId: string): boolean {
    return this.removed.size > 0 && this.removed.has(`${meshId}\u0000${memberId}`);
  }

  /** Attaches an authenticated connection. `status` seeds a new presence (restored from storage). */
  attach(conn: Conn, identity: Identity, where: Whereabouts, initial: { status: Status; summary: string }, now: number): AttachResult {
    const key = presenceKey(identity.meshId, identity.pubkey);
    let p = this.presences.get(key);
    const reattached = p !== undefined;
    const replaced: Conn[] = [];
    if (!p) {
      p = this.add(identity, where, initial, now, null);
    } else {
      if (p.graceTimer) clearTimeout(p.graceTimer);
      p.graceTimer = null;
      p.leftAt = null;
      p.identity = identity;
      if (identity.kind === "session") replaced.push(...p.conns);
      for (const c of replaced) p.conns.delete(c);
      // A member's presence shows its longest-lived connection's whereabouts: a one-shot CLI
      // command run elsewhere does not move it (detach goes back to the oldest one left).
      // Neither does that command change what a snapshot holds of it.
      if (p.conns.size === 0) {
        p.where = where;
        this.changes++;
      }
    }
    conn.where = where;
    p.conns.add(conn);
    this.recount(p);
    return { presence: p, reattached, replaced };
  }

  /** Detaches a closed connection. Starts the grace timer when it was the identity's last one. */
  detach(conn: Conn): Presence | null {
    const id = conn.identity;
    if (!id) return null;
    const p = this.presences.get(presenceKey(id.meshId, id.pubkey));
    if (!p || !p.conns.delete(conn)) return p ?? null;
    this.recount(p);
    if (p.conns.size > 0) {
      const where = p.conns.values().next().value!.where ?? p.where;
      if (where !== p.where) {
        p.where = where;
        this.changes++;
      }
      return p;
    }
    this.changes++;
    const expire = () => this.remove(p);
    p.leftAt = Date.now();
    if (this.stopped) return p;
    if (this.graceMs <= 0) expire();
    else p.graceTimer = setTimeout(expire, this.graceMs);
    return p;
  }

  /** Adds a presence without a connection, in its grace for `graceLeftMs` more: one the previous
   *  broker process had when it stopped, or in its latest snapshot (presence-carry.ts). A
   *  reconnect within that time re-attaches to it; after it, peers hear `peer_left`, as after any
   *  grace. */
  carry(identity: Identity, where: Whereabouts, shown: { status: Status; summary: string }, connectedAt: number, leftAt: number, graceLeftMs: number): void {
    if (this.stopped || this.presences.has(presenceKey(identity.meshId, identity.pubkey))) return;
    const p = this.add(identity, where, shown, connectedAt, leftAt);
    p.graceTimer = setTimeout(() => this.remove(p), Math.max(0, graceLeftMs));
  }

  /** A new presence, registered (without connections). */
  private add(identity: Identity, where: Whereabouts, shown: { status: Status; summary: string }, connectedAt: number, leftAt: number | null): Presence {
    const key = presenceKey(identity.meshId, identity.pubkey);
    const p: Presence = { key, identity, conns: new Set(), ...shown, where, connectedAt, seenStoredAt: leftAt ?? connectedAt, hookToken: randomId(24), graceTimer: null, leftAt };
    this.presences.set(key, p);
    let set = this.byMesh.get(identity.meshId);
    if (!set) this.byMesh.set(identity.meshId, (set = new Set()));
    set.add(p);
    this.byToken.set(p.hookToken, p);
    this.changes++;
    return p;
  }

  /** Cancels every pending grace timer (the broker is stopping: nothing may run after its store
   *  closes; the next start takes in what the stop wrote down, still in its grace). */
  stopTimers(): void {
    this.stopped = true;
    for (const p of this.presences.values()) {
      if (p.graceTimer) clearTimeout(p.graceTimer);
      p.graceTimer = null;
    }
  }

  /** Removes a presence now (grace over, member revoked, session ended). */
  remove(p: Presence): void {
    if (p.graceTimer) clearTimeout(p.graceTimer);
    p.graceTimer = null;
    if (this.presences.get(p.key) !== p) return;
    this.presences.delete(p.key);
    // A mesh's set goes with its last presence: meshes are made by anyone and most are used for a
    // while and never again, so an empty set per mesh ever connected grew the broker for good.
    const inMesh = this.byMesh.get(p.identity.meshId);
    inMesh?.delete(p);
    if (inMesh?.size === 0) this.byMesh.delete(p.identity.meshId);
    this.byToken.delete(p.hookToken);
    this.recount(p);
    this.changes++;
    this.onGone(p);
  }

  /** Grows with every change to the presences: one added or removed, a connection attached or
   *  detached, and (through `changed`) a status or summary set. Equal values mean nothing the
   *  presence snapshot records changed in between (presence-snapshot.ts). */
  get version(): number {
    return this.changes;
  }

  /** Records that a presence's status or summary was set (handlers/presence.ts). */
  changed(): void {
    this.changes++;
  }

  /** Whether any session of the member is connected now. One in its reconnect grace is not: what
   *  comes meanwhile is kept for the member's next session too (that session's own hello, if it
   *  comes back, unmarks what its mailbox holds already). */
  hasSession(meshId: string, memberId: string): boolean {
    return this.sessionsOf.size > 0 && this.sessionsOf.has(`${meshId}\u0000${memberId}`);
  }

  /** Keeps connectedSessions and sessionsOf true to `p` after its connections or presence changed. */
  private recount(p: Presence): void {
    const connected = p.identity.kind === "session" && p.conns.size > 0 && this.presences.get(p.key) === p;
    if (connected === this.connectedSessions.has(p)) return;
    const key = `${p.identity.meshId}\u0000${p.identity.memberId}`;
    const n = (this.sessionsOf.get(key) ?? 0) + (connected ? 1 : -1);
    if (connected) this.connectedSessions.add(p);
    else this.connectedSessions.delete(p);
    if (n > 0) this.sessionsOf.set(key, n);
    else this.sessionsOf.delete(key);
  }

  get(meshId: string, pubkey: string): Presence | undefined {
    return this.presences.get(presenceKey(meshId, pubkey));
  }

  byHookToken(token: string): Presence | undefined {
    return this.byToken.get(token);
  }

  inMesh(meshId: string): Iterable<Presence> {
    return this.byMesh.get(meshId) ?? [];
  }

  /** Presences of one member: its member-key presence and all its sessions. */
  ofMember(meshId: string, memberId: string): Presence[] {
    return [...this.inMesh(meshId)].filter((p) => p.identity.memberId === memberId);
  }

  meshConnectionCount(meshId: string): number {
    let n = 0;
    for (const p of this.inMesh(meshId)) n += p.conns.size;
    return n;
  }

  /** Handshakes per mesh holding a connection slot (holdSlot). */
  private readonly admitting = new Map<string, number>();

  /** Attached connections plus handshakes holding a slot. */
  meshSlotsTaken(meshId: string): number {
    return this.meshConnectionCount(meshId) + (this.admitting.get(meshId) ?? 0);
  }

  /** Holds one of the mesh's connection slots for a handshake until the returned function is
   *  called (more calls do nothing): hellos that arrive together cannot all pass the capacity
   *  check while each waits for the store, and one refused for capacity has stored nothing. */
  holdSlot(meshId: string): () => void {
    this.admitting.set(meshId, (this.admitting.get(meshId) ?? 0) + 1);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      const n = this.admitting.get(meshId)! - 1;
      if (n > 0) this.admitting.set(meshId, n);
      else this.admitting.delete(meshId);
    };
  }

  /** Sends an event to every ready connection in the mesh that subscribed to it, except those of
   *  `exceptKey`, then to the mesh's listeners (every event, whoever it is about). This is the one
   *  place events go out. A connection that did not subscribe costs a set lookup: the frame is
   *  encoded only once one that did is found. */
  emit(meshId: string, event: EventNameT, data: Record<string, unknown>, exceptKey?: string): void {
    let text: string | null = null;
    for (const p of this.inMesh(meshId)) {
      if (p.key === exceptKey) continue;
      for (const c of p.conns) {
        if (!c.ready || (c.events !== null && !c.events.has(event))) continue;
        c.sendRaw((text ??= JSON.stringify({ type: "event", event, data })));
      }
    }
    for (const l of this.listeners.get(meshId) ?? []) {
      try {
        l(event, data);
      } catch {
        // A failing observer must not stop delivery to the others; it removes itself on close.
      }
    }
  }

  /** Observes one mesh's events, synchronously, after its sockets. Returns the unsubscribe. */
  subscribe(meshId: string, listener: HubListener): () => void {
    let set = this.listeners.get(meshId);
    if (!set) this.listeners.set(meshId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(meshId) === set) this.listeners.delete(meshId);
    };
  }

  all(): Iterable<Presence> {
    return this.presences.values();
  }

  *allConns(): Iterable<Conn> {
    for (const p of this.presences.values()) yield* p.conns;
  }

  get size(): number {
    return this.presences.size;
  }

  /** Meshes with a presence here (memory tracks them, not every mesh ever connected). */
  get meshCount(): number {
    return this.byMesh.size;
  }
}
