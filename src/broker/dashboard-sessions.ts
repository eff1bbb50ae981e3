// Dashboard sessions: what a cookie stands for. A member session names one member of one mesh
// (its rights are re-read from the store on every request, so a removal or role change applies at
// once); an operator session names the operator token it was opened with, and ends when
// `claudemesh admin token` replaces that token. Kept in memory: a broker restart logs everyone
// out, which costs one `claudemesh dashboard`. Only SHA-256 of each cookie value is held.
import { randomId, sha256Hex } from "../crypto/hash.ts";

export type DashboardSession =
  | { kind: "member"; meshId: string; memberId: string; expiresAt: number }
  | { kind: "operator"; tokenHash: string; expiresAt: number };

type WithoutExpiry<T> = T extends unknown ? Omit<T, "expiresAt"> : never;

/** Cookie names: one member session and one operator session per browser. */
export const MEMBER_COOKIE = "cm_dashboard";
export const OPERATOR_COOKIE = "cm_operator";
/** How long a dashboard session lasts (the cookie's Max-Age and the server-side expiry). */
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;
/** Bound on live sessions; the oldest is dropped past it (each login is a signed, single-use link). */
const MAX_SESSIONS = 10_000;

export class SessionStore {
  private readonly byHash = new Map<string, DashboardSession>();

  constructor(private readonly now: () => number) {}

  /** Opens a session; returns the cookie value (shown once, to the browser). */
  open(session: WithoutExpiry<DashboardSession>): { token: string; session: DashboardSession } {
    const full = { ...session, expiresAt: this.now() + SESSION_TTL_MS } as DashboardSession;
    const token = randomId(32);
    if (this.byHash.size >= MAX_SESSIONS) this.sweep();
    if (this.byHash.size >= MAX_SESSIONS) this.byHash.delete(this.byHash.keys().next().value!);
    this.byHash.set(sha256Hex(token), full);
    return { token, session: full };
  }

  /** The live session of a cookie value, or null (unknown or expired). */
  get(token: string | undefined): DashboardSession | null {
    if (!token) return null;
    const key = sha256Hex(token);
    const s = this.byHash.get(key);
    if (!s) return null;
    if (s.expiresAt <= this.now()) {
      this.byHash.delete(key);
      return null;
    }
    return s;
  }

  close(token: string | undefined): void {
    if (token) this.byHash.delete(sha256Hex(token));
  }

  private sweep(): void {
    const now = this.now();
    for (const [k, s] of this.byHash) if (s.expiresAt <= now) this.byHash.delete(k);
  }
}

/** The value of one cookie in a Cookie header, or undefined. */
export function readCookie(header: string | null, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** A Set-Cookie value: HttpOnly (no script reads it), SameSite=Strict (no other site sends it),
 *  Path=/, Secure when the browser reached us over https. maxAgeS 0 clears the cookie. */
export function cookieHeader(name: string, value: string, maxAgeS: number, secure: boolean): string {
  return [`${name}=${value}`, "Path=/", "HttpOnly", "SameSite=Strict", `Max-Age=${maxAgeS}`, ...(secure ? ["Secure"] : [])].join("; ");
}
