// Presences across a restart. The next start takes in who the previous broker had online
// (connected, or in their presence grace), once, as presences in their grace (Hub.carry). So a
// restart reads to peers like every client's connection dropping for a moment: those back within
// `presenceGrace` re-attach (no `peer_joined`, status and summary kept, `working` included), and
// peers hear `peer_left` for those that are not. Without it a restart of a broker with N peers
// announced N·(N−1)/2 joins (469,000 frames at 969 peers), dropped every `working` status of a
// session still in its turn, and never told anyone of a peer that did not come back.
//
// One record in broker_meta, written two ways:
// - a broker that drains (SIGTERM) writes it at the stop (carryOut): connected presences count
//   as left at the stop. This one is authoritative: it replaces any snapshot;
// - a running broker writes it every few seconds when the presences changed (a snapshot:
//   presence-snapshot.ts), and otherwise notes that the last one is still true (SEEN_KEY). After
//   a stop that wrote nothing (kill -9, OOM, power loss) the next start takes in the snapshot,
//   its connected presences as left when it was last known true: their grace runs from then, so a
//   snapshot older than the grace carries nothing, and what changed after it is not known.
import { STATUSES } from "../protocol/choices.ts";
import type { Status } from "../protocol/fields.ts";
import type { BrokerContext } from "./context.ts";
import type { Identity, Whereabouts } from "./conn.ts";
import type { Presence } from "./hub.ts";

/** The broker_meta key of the record; "" once the next start took it in. */
export const CARRIED_KEY = "carried_presences";
/** The broker_meta key saying until when the latest snapshot was still true:
 *  `{"of": <its takenAt>, "at": <ms>}`. */
export const SEEN_KEY = "carried_presences_seen";

/** A presence as recorded. The identity's attestation is not: the start takes the session's
 *  latest from the store (it is stored before a broker uses it), which keeps a third of the bytes
 *  out of every snapshot. `leftAt` null: connected when the snapshot was taken. */
type Carried = { identity: Omit<Identity, "attestation">; where: Whereabouts; status: Status; summary: string; connectedAt: number; leftAt: number | null };
/** `stoppedAt`: written by a clean stop; `takenAt`: a snapshot of a running broker. */
type Head = { stoppedAt: number } | { takenAt: number };
type Record_ = Head & { presences: Carried[] };

/** `p` as the record holds it, JSON. `leftAt`: when its last connection closed, null if connected. */
export function carriedText(p: Presence, leftAt: number | null): string {
  const { attestation: _, ...identity } = p.identity;
  return JSON.stringify({ identity, where: p.where, status: p.status, summary: p.summary, connectedAt: p.connectedAt, leftAt } satisfies Carried);
}

/** The record's text, from its head and its presences' texts (carriedText). */
export function recordText(head: Head, presences: readonly string[]): string {
  return `${JSON.stringify(head).slice(0, -1)},"presences":[${presences.join(",")}]}`;
}

/** Writes down the presences of a draining broker. Never throws: a failure is logged, and the next
 *  start then takes in the latest snapshot, as after a crash. */
export async function carryOut(ctx: BrokerContext): Promise<void> {
  const stoppedAt = Date.now();
  const presences = [...ctx.hub.all()].map((p) => carriedText(p, p.leftAt ?? stoppedAt));
  try {
    await ctx.store.setMeta(CARRIED_KEY, recordText({ stoppedAt }, presences));
  } catch (err) {
    ctx.log.warn("the presences could not be written down for the next start: it takes in the latest snapshot, which may be out of date", { err });
  }
}

/** Takes in what the previous broker wrote down, each presence for what is left of its grace. The
 *  record stays until consumeCarried, once the port is open: a start that fails to listen (another
 *  program holds the port) must leave it to the start that succeeds. Whether there was a record
 *  (used up or not). Never throws. */
export async function carryIn(ctx: BrokerContext): Promise<boolean> {
  try {
    const text = await ctx.store.getMeta(CARRIED_KEY);
    if (!text) return false;
    const seen = await ctx.store.getMeta(SEEN_KEY);
    const record = parse(text);
    const until = "stoppedAt" in record ? record.stoppedAt : seenUntil(record.takenAt, seen);
    const grace = ctx.config.presenceGrace;
    const now = Date.now();
    let carried = 0;
    for (const c of record.presences) {
      const leftAt = c.leftAt ?? until;
      // A clock set back since the stop gives no more than a whole grace.
      const left = Math.min(grace, grace - (now - leftAt));
      const here = left > 0 ? await stillHere(ctx, c.identity) : null;
      if (!here) continue;
      // A snapshot may be older than a status or summary set and acknowledged after it, which the
      // stored row holds (a change is acknowledged once stored, and a new presence stores the
      // `working` it drops); a clean stop's record is as of the stop.
      const shown = "stoppedAt" in record ? { status: c.status, summary: c.summary } : here.shown;
      ctx.hub.carry(here.identity, c.where, shown, c.connectedAt, leftAt, left);
      carried++;
    }
    if (carried === 0) return true;
    const fields = { carried, graceMs: grace };
    if ("stoppedAt" in record) ctx.log.info("presences carried over from the previous stop", { ...fields, stoppedAt: new Date(until).toISOString() });
    else ctx.log.info("presences carried over from the last snapshot before an unclean stop", { ...fields, snapshotAt: new Date(record.takenAt).toISOString(), trueAt: new Date(until).toISOString() });
    return true;
  } catch (err) {
    ctx.log.warn("the presences the previous broker wrote down could not be read: peers will hear every client join again", { err });
    return true; // a damaged record is used up as well
  }
}

/** Consumes the record carryIn took in, so that a later start after a crash does not take it in
 *  again (with a clock set back, its presences would get a whole grace). Never throws. */
export async function consumeCarried(ctx: BrokerContext): Promise<void> {
  try {
    await ctx.store.setMeta(CARRIED_KEY, "");
  } catch (err) {
    ctx.log.warn("the presences taken in could not be marked as used: a start after a crash may take them in again", { err });
  }
}

/** Until when the snapshot taken at `takenAt` was known true: the latest SEEN_KEY note of it. */
function seenUntil(takenAt: number, seen: string | null): number {
  try {
    const s = JSON.parse(seen ?? "null") as { of?: unknown; at?: unknown } | null;
    return s?.of === takenAt && isTime(s.at) && s.at > takenAt ? s.at : takenAt;
  } catch {
    return takenAt; // a damaged note: the snapshot's own time, which is never later than the truth
  }
}

/** The identity to carry, with its session's latest attestation, and the status and summary its
 *  stored row holds; null when the member is no longer in its mesh, or a session key no longer a
 *  live session of it: the database may have changed while no broker ran (a restore of a backup,
 *  a member removed), and a presence carried for a removed member would be listed and announced
 *  gone. */
async function stillHere(ctx: BrokerContext, id: Carried["identity"]): Promise<{ identity: Identity; shown: Shown } | null> {
  const roster = await ctx.roster.get(id.meshId);
  if (!roster.members.has(id.memberId)) return null;
  if (id.kind === "member") {
    const m = roster.byPubkey.get(id.pubkey);
    return m?.id === id.memberId ? { identity: { ...id, attestation: null }, shown: { status: m.status, summary: m.summary } } : null;
  }
  const session = roster.sessions.get(id.pubkey);
  return session?.memberId === id.memberId ? { identity: { ...id, attestation: session.attestation }, shown: { status: session.status, summary: session.summary } } : null;
}

type Shown = { status: Status; summary: string };

const isString = (v: unknown): v is string => typeof v === "string";
const isTime = (v: unknown): v is number => Number.isSafeInteger(v);

/** The record as written by carryOut or a snapshot; throws on anything else (a damaged row). */
function parse(text: string): Record_ {
  const r = JSON.parse(text) as Record_ & { stoppedAt?: unknown; takenAt?: unknown };
  const snapshot = r?.takenAt !== undefined;
  if ((snapshot ? !isTime(r.takenAt) || r.stoppedAt !== undefined : !isTime(r?.stoppedAt)) || !Array.isArray(r.presences)) throw new Error("not a record of presences");
  for (const c of r.presences) {
    const id = c?.identity;
    const fine =
      id && isString(id.meshId) && isString(id.memberId) && isString(id.memberPubkey) && isString(id.role) && (id.kind === "member" || id.kind === "session") && isString(id.pubkey) && isString(id.displayName) &&
      c.where && isString(c.where.cwd) && (STATUSES as readonly unknown[]).includes(c.status) && isString(c.summary) && isTime(c.connectedAt) && (isTime(c.leftAt) || (snapshot && c.leftAt === null));
    if (!fine) throw new Error("a presence in the record is not well formed");
  }
  return r;
}
