// Dashboard sessions: what a cookie stands for. A member session names one member of one mesh
// (its rights are re-read from the store on every request, so a removal or role change applies at
// once); an operator session names the operator token it was opened with, and ends when
// `claudemesh admin token` replaces that token. Each session also has a page key, returned with
// the login, which a request must show beside the cookie (src/protocol/dashboard-keys.ts). Kept in
// memory, the keys with their sessions: a broker restart logs everyone out, which costs one
// `claudemesh dashboard`. Only SHA-256 of each cookie value and page key is held.
// A session's age is measured on the monotonic clock: on the wall clock, one opened before the
// clock was set back outlived its TTL by the step, and kept every later one from being swept
// (docs/decisions.md, "Session 36: acks during a drain, dashboard sessions across clock steps").
// Caps are per mesh, per member and for the operator, and each evicts only within its own group;
// the broker-wide ceiling refuses rather than evicts (docs/security.md, "The web dashboard").
import { randomId, safeEqual, sha256Hex } from "../crypto/hash.ts";
import { MAX_SHOWN_PAGE_KEYS } from "../protocol/dashboard-keys.ts";
import { MeshError } from "../protocol/errors.ts";

/** Whom a session speaks for. */
export type SessionSubject = { kind: "member"; meshId: string; memberId: string } | { kind: "operator"; tokenHash: string };
/** `endsAt`: when it expires, on the store's clock (monotonic; SessionStore.remainingMs). */
export type DashboardSession = SessionSubject & { endsAt: number; pageKeyHash: string };

/** Cookie names: one member session and one operator session per browser. */
export const MEMBER_COOKIE = "cm_dashboard";
export const OPERATOR_COOKIE = "cm_operator";
/** How long a dashboard session lasts (the cookie's Max-Age and the server-side expiry). */
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;
/** Live member sessions of one mesh. Past it, a login evicts the oldest session **of that mesh**,
 *  never another mesh's: mesh creation is open, so a mesh of one's own must not be a lever on others. */
export const MAX_SESSIONS_PER_MESH = 1_000;
/** Live sessions of one member (browsers, profiles, a day of fresh links); past it the member's own
 *  oldest goes. */
export const MAX_SESSIONS_PER_MEMBER = 32;
/** Live operator sessions; past it the oldest operator session goes. */
export const MAX_OPERATOR_SESSIONS = 100;
/** Broker-wide ceiling, a memory bound only (~300 bytes a session): at it, a login that would not
 *  replace a session of its own mesh is refused (503 `unavailable`, retryable); nobody is evicted. */
export const MAX_SESSIONS = 50_000;

export type SessionLimits = { total: number; perMesh: number; perMember: number; operator: number };
const DEFAULT_LIMITS: SessionLimits = { total: MAX_SESSIONS, perMesh: MAX_SESSIONS_PER_MESH, perMember: MAX_SESSIONS_PER_MEMBER, operator: MAX_OPERATOR_SESSIONS };

const FULL = "The broker holds as many dashboard sessions as it allows; nobody was signed out to make room. Retry in a few minutes with a new link from `claudemesh dashboard`.";

/** The groups a session counts against, each with its cap: [mesh or operator, member]. */
function groupsOf(s: SessionSubject, limits: SessionLimits): [string, number][] {
  if (s.kind === "operator") return [["operator", limits.operator]];
  return [
    [`mesh:${s.meshId}`, limits.perMesh],
    [`member:${s.meshId}/${s.memberId}`, limits.perMember],
  ];
}

export class SessionStore {
  /** Insertion order is age order (every session lives SESSION_TTL_MS on a clock that never goes
   *  back), so the first are the oldest and the first to expire. */
  private readonly byHash = new Map<string, DashboardSession>();
  /** Group key → hashes of its sessions, oldest first. */
  private readonly groups = new Map<string, Set<string>>();

  /** `now`: the monotonic clock (performance.now(); tests drive it). */
  constructor(
    private readonly now: () => number,
    private readonly limits: SessionLimits = DEFAULT_LIMITS,
  ) {}

  get size(): number {
    return this.byHash.size;
  }

  /** Throws MeshError unavailable if open() would be refused now (the broker-wide ceiling is
   *  reached and this login would not replace a session of its own). Lets the login route refuse
   *  before it spends the single-use link; open() checks again. */
  checkRoom(session: SessionSubject): void {
    if (this.byHash.size < this.limits.total) return;
    this.sweepExpired();
    if (this.byHash.size < this.limits.total) return;
    const replacesOwn = groupsOf(session, this.limits).some(([g, cap]) => (this.groups.get(g)?.size ?? 0) >= cap);
    if (!replacesOwn) throw new MeshError("unavailable", FULL);
  }

  /** Opens a session; returns the cookie value and the page key (each shown once, to the browser).
   *  A mesh, member or the operator at its cap loses its own oldest session; at the broker-wide
   *  ceiling the login is refused with MeshError unavailable instead of evicting anyone else's. */
  open(session: SessionSubject): { token: string; pageKey: string; session: DashboardSession } {
    // Most sessions are never signed out (the tab is closed): without this they stayed after their
    // expiry until a cap was reached, up to the caps' 50,000 (docs/decisions.md, "Session 35: state
    // that churn left behind").
    this.sweepExpired();
    const groups = groupsOf(session, this.limits);
    for (const [g, cap] of groups) {
      const set = this.groups.get(g);
      while (set && set.size >= cap) this.remove(set.values().next().value!);
    }
    this.checkRoom(session);
    const pageKey = randomId(32);
    const full: DashboardSession = { ...session, endsAt: this.now() + SESSION_TTL_MS, pageKeyHash: sha256Hex(pageKey) };
    const token = randomId(32);
    const hash = sha256Hex(token);
    this.byHash.set(hash, full);
    for (const [g] of groups) {
      let set = this.groups.get(g);
      if (!set) this.groups.set(g, (set = new Set()));
      set.add(hash);
    }
    return { token, pageKey, session: full };
  }

  /** The live session of a cookie value, or null (unknown or expired). */
  get(token: string | undefined): DashboardSession | null {
    if (!token) return null;
    const key = sha256Hex(token);
    const s = this.byHash.get(key);
    if (!s) return null;
    if (s.endsAt <= this.now()) {
      this.remove(key);
      return null;
    }
    return s;
  }

  /** How long `session` has left (0 once expired): what the routes add to the wall clock of now
   *  to say when it ends, and how long a live event stream of it may run. */
  remainingMs(session: DashboardSession): number {
    return Math.max(0, session.endsAt - this.now());
  }

  close(token: string | undefined): void {
    if (token) this.remove(sha256Hex(token));
  }

  private remove(hash: string): void {
    const s = this.byHash.get(hash);
    if (!s) return;
    this.byHash.delete(hash);
    for (const [g] of groupsOf(s, this.limits)) {
      const set = this.groups.get(g);
      set?.delete(hash);
      if (set?.size === 0) this.groups.delete(g);
    }
  }

  /** Drops expired sessions: they are the first in insertion order, so this stops at a live one
   *  (amortized O(1) a login). */
  private sweepExpired(): void {
    const now = this.now();
    for (const [k, s] of this.byHash) {
      if (s.endsAt > now) break;
      this.remove(k);
    }
  }
}

/** Whether `shown` (a comma-separated list of page keys, as the page sends them; null when the
 *  request showed none) holds `session`'s page key. Only the first MAX_SHOWN_PAGE_KEYS count. */
export function showsPageKey(session: DashboardSession, shown: string | null | undefined): boolean {
  if (!shown) return false;
  return shown.split(",", MAX_SHOWN_PAGE_KEYS).some((k) => safeEqual(sha256Hex(k.trim()), session.pageKeyHash));
}

/** How many values of one cookie name a request's sessions are looked up by. */
const MAX_COOKIE_VALUES = 8;

/** Every value of cookie `name` in a Cookie header, in the order sent (at most MAX_COOKIE_VALUES).
 *  Browsers send one value per Path: a page on another port of this host can set a second
 *  `cm_dashboard` with a longer Path, which comes first, so a session is looked for among all. */
export function readCookies(header: string | null, name: string): string[] {
  const out: string[] = [];
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) out.push(part.slice(eq + 1).trim());
    if (out.length === MAX_COOKIE_VALUES) break;
  }
  return out;
}

/** A Set-Cookie value: HttpOnly (no script reads it), SameSite=Strict (no other site sends it),
 *  Path=/, Secure when the browser reached us over https. maxAgeS 0 clears the cookie. */
export function cookieHeader(name: string, value: string, maxAgeS: number, secure: boolean): string {
  return [`${name}=${value}`, "Path=/", "HttpOnly", "SameSite=Strict", `Max-Age=${maxAgeS}`, ...(secure ? ["Secure"] : [])].join("; ");
}
