// Presences across a clean restart. A broker that drains (SIGTERM) writes down who was online
// (connected, or in their presence grace) and when it stopped; the next start takes that in, once,
// as presences in their grace from the stop on (Hub.carry). So a restart reads to peers like every
// client's connection dropping for a moment: those back within `presenceGrace` re-attach (no
// `peer_joined`, status and summary kept, `working` included), and peers hear `peer_left` for
// those that are not. Without it a restart of a broker with N peers announced N·(N−1)/2 joins
// (469,000 frames at 969 peers), dropped every `working` status of a session still in its turn,
// and never told anyone of a peer that did not come back. A broker that did not drain (kill -9, a
// power loss) wrote nothing: its next start has no presences, as before.
import { STATUSES } from "../protocol/choices.ts";
import type { Status } from "../protocol/fields.ts";
import type { BrokerContext } from "./context.ts";
import type { Identity, Whereabouts } from "./conn.ts";

/** The broker_meta key of the record; "" once the next start took it in. */
export const CARRIED_KEY = "carried_presences";

type Carried = { identity: Identity; where: Whereabouts; status: Status; summary: string; connectedAt: number; leftAt: number };
type Record_ = { stoppedAt: number; presences: Carried[] };

/** Writes down the presences of a draining broker. Never throws: a failure is logged, and the next
 *  start is then as after a crash. */
export async function carryOut(ctx: BrokerContext): Promise<void> {
  const stoppedAt = Date.now();
  const presences: Carried[] = [...ctx.hub.all()].map((p) => ({ identity: p.identity, where: p.where, status: p.status, summary: p.summary, connectedAt: p.connectedAt, leftAt: p.leftAt ?? stoppedAt }));
  try {
    await ctx.store.setMeta(CARRIED_KEY, JSON.stringify({ stoppedAt, presences } satisfies Record_));
  } catch (err) {
    ctx.log.warn("the presences could not be written down for the next start: peers will hear every client join again", { err });
  }
}

/** Takes in what the previous broker wrote down, if it stopped less than `presenceGrace` ago, and
 *  consumes it (a later start after a crash must not take it in again). Never throws. */
export async function carryIn(ctx: BrokerContext): Promise<void> {
  try {
    const text = await ctx.store.getMeta(CARRIED_KEY);
    if (!text) return;
    await ctx.store.setMeta(CARRIED_KEY, "");
    const record = parse(text);
    const grace = ctx.config.presenceGrace;
    const now = Date.now();
    let carried = 0;
    for (const c of record.presences) {
      // A clock set back since the stop gives no more than a whole grace.
      const left = Math.min(grace, grace - (now - c.leftAt));
      if (left <= 0 || !(await stillHere(ctx, c.identity))) continue;
      ctx.hub.carry(c.identity, c.where, { status: c.status, summary: c.summary }, c.connectedAt, c.leftAt, left);
      carried++;
    }
    if (carried > 0) ctx.log.info("presences carried over from the previous stop", { carried, stoppedAt: new Date(record.stoppedAt).toISOString(), graceMs: grace });
  } catch (err) {
    ctx.log.warn("the presences the previous broker wrote down could not be read: peers will hear every client join again", { err });
  }
}

/** Whether the member is still in its mesh, and a session key still a live session of it: the
 *  database may have changed while no broker ran (a restore of a backup, a member removed), and a
 *  presence carried for a removed member would be listed and announced gone. */
async function stillHere(ctx: BrokerContext, id: Identity): Promise<boolean> {
  const roster = await ctx.roster.get(id.meshId);
  if (!roster.members.has(id.memberId)) return false;
  return id.kind === "member" ? roster.byPubkey.get(id.pubkey)?.id === id.memberId : roster.sessions.get(id.pubkey)?.memberId === id.memberId;
}

const isString = (v: unknown): v is string => typeof v === "string";
const isTime = (v: unknown): v is number => Number.isSafeInteger(v);

/** The record as written by carryOut; throws on anything else (a damaged row). */
function parse(text: string): Record_ {
  const r = JSON.parse(text) as Record_;
  if (!isTime(r?.stoppedAt) || !Array.isArray(r.presences)) throw new Error("not a record of presences");
  for (const c of r.presences) {
    const id = c?.identity;
    const fine =
      id && isString(id.meshId) && isString(id.memberId) && isString(id.memberPubkey) && isString(id.role) && (id.kind === "member" || id.kind === "session") && isString(id.pubkey) && isString(id.displayName) &&
      c.where && isString(c.where.cwd) && (STATUSES as readonly unknown[]).includes(c.status) && isString(c.summary) && isTime(c.connectedAt) && isTime(c.leftAt);
    if (!fine) throw new Error("a presence in the record is not well formed");
  }
  return r;
}
