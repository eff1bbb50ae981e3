// The send path: resolve the target to recipient mailboxes, apply grants and quotas, commit the
// message (group commit), then push it to recipients that are online and not gated. Neither the
// pushes nor the sender's `result` go out before the commit is flushed.
import { MeshError } from "../protocol/errors.ts";
import type { Cap } from "../protocol/fields.ts";
import type { ClientFrameOf } from "../protocol/frames.ts";
import type { Results, Undeliverable } from "../protocol/results.ts";
import type { Member, NewMessage, SendOutcome, StoredMessage } from "../store/types.ts";
import type { BrokerContext } from "./context.ts";
import type { Conn, Identity } from "./conn.ts";
import { capFor, effectiveCaps } from "./grants.ts";
import { pickConn, pushClaimed, toPush, wake } from "./delivery.ts";
import { admitToQueues, quotaError, type Bound } from "./queue-bounds.ts";
import { RosterCache, type Roster } from "./roster.ts";

type Kind = "direct" | "broadcast" | "group" | "topic";
/** A recipient member's mailboxes (the sender's own left out). */
type MemberBoxes = { memberId: string; boxes: string[] };
/** Where a send goes: each recipient member's mailboxes, one entry per member, and the roster
 *  they were resolved from. (An array, not a Map by member id: it is only walked, and a Map and
 *  its table are ~350 bytes of garbage per send.) */
type Route = { kind: Kind; topicId: number | null; topic: string | null; mailboxes: MemberBoxes[]; roster: Roster };

/** Where a send to a fan-out target (`*`, `@group`, `#topic`) goes; a group or topic is read
 *  from the store. */
async function resolveFanOut(ctx: BrokerContext, roster: Roster, sender: Identity, to: string): Promise<Route> {
  if (to === "*") return fanOut(ctx, sender, roster, "broadcast", [...roster.members.values()]);
  if (to.startsWith("@")) {
    const ids = await ctx.store.groupMembers(sender.meshId, to.slice(1));
    const members = ids.map((id) => roster.members.get(id)).filter((m): m is Member => m !== undefined);
    if (members.length === 0) throw new MeshError("unknown_recipient", `No member is in group ${to}.`);
    return fanOut(ctx, sender, roster, "group", members);
  }
  return resolveTopic(ctx, roster, sender, to.slice(1));
}

const isFanOut = (to: string) => to === "*" || to.startsWith("@") || to.startsWith("#");

/** The route to each of `members` (distinct) still in the mesh, through all their mailboxes. */
function fanOut(ctx: BrokerContext, sender: Identity, roster: Roster, kind: Kind, members: Member[], topicId: number | null = null, topic: string | null = null): Route {
  const mailboxes: MemberBoxes[] = [];
  for (const m of members) {
    if (ctx.hub.isRemoved(sender.meshId, m.id)) continue; // removed, the roster not yet refreshed
    const boxes = RosterCache.mailboxesOf(roster, m).filter((k) => k !== sender.pubkey);
    if (boxes.length > 0) mailboxes.push({ memberId: m.id, boxes });
  }
  return { kind, topicId, topic, mailboxes, roster };
}

async function resolveTopic(ctx: BrokerContext, roster: Roster, sender: Identity, name: string): Promise<Route> {
  const topic = await ctx.store.getTopic(sender.meshId, name);
  if (!topic) throw new MeshError("unknown_recipient", `No topic #${name} in this mesh. Create it first: claudemesh topic create ${name}`);
  const members = await ctx.store.topicMembers(topic.id);
  if (!members.some((m) => m.memberId === sender.memberId)) throw new MeshError("forbidden", `Join #${name} before posting to it.`);
  const active = members.map((m) => roster.members.get(m.memberId)).filter((m): m is Member => m !== undefined);
  return fanOut(ctx, sender, roster, "topic", active, topic.id, topic.name);
}

/** Where a direct message to a member or session key goes: from the roster alone, synchronously
 *  (no async function per message). */
function resolveDirect(ctx: BrokerContext, roster: Roster, sender: Identity, key: string): Route {
  const member = roster.byPubkey.get(key);
  const session = member ? undefined : roster.sessions.get(key);
  const owner = member ?? (session && roster.members.get(session.memberId));
  if (!owner || ctx.hub.isRemoved(sender.meshId, owner.id)) throw new MeshError("unknown_recipient", "No active member or session of this mesh has that key.");
  const boxes = member ? RosterCache.mailboxesOf(roster, member) : [key];
  return { kind: "direct", topicId: null, topic: null, mailboxes: [{ memberId: owner.id, boxes }], roster };
}

/** Recipients that granted the capability, and how many members did not. */
function applyGrants(sender: Identity, route: Route): { boxes: string[]; dropped: number } {
  const cap = capFor(route.kind);
  const boxes: string[] = [];
  let dropped = 0;
  for (const { memberId, boxes: memberBoxes } of route.mailboxes) {
    const rows = route.roster.grantsTo.get(memberId) ?? [];
    const caps = effectiveCaps(rows, memberId, sender.memberPubkey, sender.kind === "session" ? sender.pubkey : null);
    if (caps.includes(cap)) boxes.push(...memberBoxes);
    else dropped++;
  }
  return { boxes, dropped };
}

/** Handles one send. `submitted` is called as soon as the message is handed to the group commit
 *  (or the send failed before that), so the session can process the connection's next frame
 *  while this one commits, without reordering a connection's sends. */
export async function handleSend(ctx: BrokerContext, conn: Conn, f: ClientFrameOf<"send">, submitted: () => void = () => {}): Promise<Results["send"]> {
  const sender = conn.identity!;
  // A retry of a stored message, or of one being committed, is answered before anything that could
  // refuse it, with the mailboxes the original skipped: its first answer may have been lost.
  const prior = (await ctx.store.findSent(sender.meshId, sender.pubkey, f.clientMessageId)) ?? (await ctx.writes.original(sender.meshId, sender.pubkey, f.clientMessageId));
  if (prior) {
    submitted();
    await ctx.store.flushed(); // the original may have committed a moment ago, not yet flushed
    if (prior.unreadable !== undefined) ctx.log.warn("a stored send's undeliverable list is damaged; its retry is answered with none", { messageId: prior.message.id, stored: prior.unreadable });
    return resultOf(prior.message, true, prior.undeliverable);
  }
  if (!ctx.sendLimiter.take(sender.memberId)) {
    ctx.sendRefusals.note({ meshId: sender.meshId, memberId: sender.memberId, reason: "rate_limited", limit: "send", to: f.to });
    throw new MeshError("rate_limited", undefined, { retryAfterMs: ctx.sendLimiter.waitMs(sender.memberId), limit: "send" });
  }
  const roster = await ctx.roster.get(sender.meshId);
  const route = isFanOut(f.to) ? await resolveFanOut(ctx, roster, sender, f.to) : resolveDirect(ctx, roster, sender, f.to);
  const granted = applyGrants(sender, route);
  const load = await ctx.store.queueLoad(sender.meshId, granted.boxes, sender.memberId);
  // From here to the group commit's submission nothing is awaited: no other send is checked against
  // counts that do not include this one yet.
  const { recipients, undeliverable, refused } = admitToQueues(ctx, sender.meshId, granted.boxes, load);
  if (route.kind === "direct" && recipients.length === 0 && undeliverable.length > 0) {
    countRefused(ctx, { meshId: sender.meshId, memberId: sender.memberId, to: f.to }, refused);
    throw quotaError(ctx.config, refused);
  }
  const priority = f.priority ?? "next";
  const now = ctx.now();
  const msg: NewMessage = {
    meshId: sender.meshId,
    senderMemberId: sender.memberId,
    senderPubkey: sender.pubkey,
    senderName: sender.displayName,
    clientMessageId: f.clientMessageId,
    kind: route.kind,
    target: f.to,
    topic: route.topic,
    topicId: route.topicId,
    priority,
    replyTo: f.replyTo ?? null,
    nonce: f.nonce,
    ciphertext: f.ciphertext,
    notice: null,
    expiresAt: now + Math.min(f.ttlMs ?? ctx.config.messageTtl, ctx.config.messageTtl),
    recipients,
    claimFor: new Map(),
    forNextSession: new Set(),
    undeliverable,
  };
  // The sender may have been removed while this send awaited (a kick from another connection).
  if (ctx.hub.isRemoved(sender.meshId, sender.memberId)) throw new MeshError("revoked");
  const outcome = await commit(ctx, msg, route, { cap: capFor(route.kind), count: granted.dropped }, refused, submitted);
  // Answered once flushed, as its pushes are (docs/protocol.md §5.4).
  await ctx.store.flushed();
  // A duplicate (a send with this id that passed the checks above too and was committed first,
  // in this group commit or an earlier one) lists the original's.
  return resultOf(outcome.message, outcome.duplicate, outcome.undeliverable);
}

/** Hands the message to the group commit, which picks the connections it is pushed to the moment
 *  it commits (a connection with an older backlog drains that first, through the pump), and
 *  delivers it in commit order once that commit is flushed. Resolves once committed. */
function commit(ctx: BrokerContext, msg: NewMessage, route: Route, droppedByGrant: { cap: Cap; count: number }, refused: ReadonlyMap<Bound, number>, submitted: () => void): Promise<SendOutcome> {
  const conns = new Map<string, Conn>();
  const sole = soleSessions(route, msg);
  // Claimed for a connection and not yet pushed: counts against its window meanwhile.
  let holding = true;
  const unhold = () => {
    if (holding) for (const c of conns.values()) c.claimedUncommitted--;
    holding = false;
  };
  const committed = ctx.writes.send(msg, {
    claim(box) {
      const c = pickConn(ctx.hub.get(msg.meshId, box), msg.priority);
      if (!c || c.backlog) return null;
      c.claimedUncommitted++;
      conns.set(box, c);
      return c.id;
    },
    forNextSession(box) {
      // A member key whose member has no session connected (sessions in their reconnect grace
      // count as gone; the sending session counts as connected, even if it closed since); or its
      // member's only session this message reaches, while one is connected. (With none connected
      // the member key's entry is marked, for the next session or for this one if it resumes and
      // takes the mark: one of the two, never both.)
      const member = route.roster.byPubkey.get(box);
      if (member !== undefined) return !sentByOwnSession(msg, member) && !ctx.hub.hasSession(msg.meshId, member.id);
      const owner = sole.get(box);
      return owner !== undefined && ctx.hub.hasSession(msg.meshId, owner);
    },
    unclaim() {
      // The transaction did not happen (another process's lock): the next try claims again.
      unhold();
      conns.clear();
      holding = true;
    },
    committed(outcome) {
      if (outcome.duplicate) return unhold();
      ctx.metrics.messagesRouted.inc({ priority: msg.priority });
      const who = { meshId: msg.meshId, memberId: msg.senderMemberId, to: msg.target };
      if (droppedByGrant.count > 0) {
        ctx.metrics.messagesDroppedByGrant.inc({ cap: droppedByGrant.cap }, droppedByGrant.count);
        ctx.sendRefusals.note({ ...who, reason: "not_granted", count: droppedByGrant.count });
      }
      countRefused(ctx, who, refused);
      // Pushed once flushed, like the sender's result: no recipient sees a message (or a topic
      // offset) that a power loss could still take back. Flushes finish in commit order, so
      // pushes keep it. A failed flush stops the broker; its claims die with it. Recipients not
      // claimed for are woken now, not after the flush: their backlog must stop a later message
      // from being claimed for them (and pushed) ahead of this one, and the pump waits for the
      // flush itself (delivery.ts).
      const claimed: string[] = [];
      const unclaimed: string[] = [];
      for (const box of outcome.recipients) (conns.has(box) ? claimed : unclaimed).push(box);
      if (unclaimed.length > 0) deliver(ctx, outcome.message, unclaimed, conns);
      ctx.store.flushed().then(
        () => {
          unhold();
          deliver(ctx, outcome.message, claimed, conns);
        },
        unhold,
      );
    },
  });
  submitted();
  return committed.catch((err) => {
    unhold();
    throw err;
  });
}

/** Counts (and logs, throttled) the entries a send's bounds kept out, once it is stored or refused. */
function countRefused(ctx: BrokerContext, who: { meshId: string; memberId: string; to: string }, refused: ReadonlyMap<Bound, number>): void {
  for (const [bound, n] of refused) {
    ctx.metrics.queueRefused.inc({ bound }, n);
    ctx.sendRefusals.note({ ...who, reason: bound, count: n });
  }
}

/** Whether one of the member's own sessions sent the message (not the member key itself). */
const sentByOwnSession = (msg: NewMessage, member: Member) => msg.senderMemberId === member.id && msg.senderPubkey !== member.pubkey;

/** The session mailboxes among the message's recipients that are the only session of their member
 *  there, beside the member's own key, each with its member's id: one that holds the message in its
 *  member's name and ends before acking it leaves it marked for the member's next session
 *  (protocol §5.1). A member whose own session sent it has that sibling too (the route left the
 *  sender's key out), so none of its sessions is alone. */
function soleSessions(route: Route, msg: NewMessage): Map<string, string> {
  const out = new Map<string, string>();
  if (msg.recipients.length < 2) return out; // a member key and one session at least
  const queued = new Set(msg.recipients);
  for (const { memberId, boxes } of route.mailboxes) {
    const member = route.roster.members.get(memberId);
    if (member === undefined || !queued.has(member.pubkey) || sentByOwnSession(msg, member)) continue;
    const sessions = boxes.filter((b) => b !== member.pubkey && queued.has(b));
    if (sessions.length === 1) out.set(sessions[0]!, memberId);
  }
  return out;
}

function resultOf(m: StoredMessage, duplicate: boolean, undeliverable: readonly Undeliverable[]): Results["send"] {
  return { messageId: m.id, duplicate, createdAt: m.createdAt, ...(m.topicOffset !== null ? { topicOffset: m.topicOffset } : {}), undeliverable };
}

/** After commit: push to the connections claimed for; wake the other recipients. A connection
 *  closed in between (by a handler resuming in the same turn) gives its claims back. A draining
 *  broker pushes nothing (pump): the message waits in the queue for the restart. */
export function deliver(ctx: BrokerContext, m: StoredMessage, recipients: readonly string[], claimed: Map<string, Conn>): void {
  if (ctx.draining) return;
  let text: string | null = null;
  for (const box of recipients) {
    const c = claimed.get(box);
    if (c && c.state !== "closed") {
      pushClaimed(c, m.id, (text ??= JSON.stringify(toPush(m))));
    } else if (c) {
      void ctx.store.releaseClaims(c.id).catch((err) => ctx.log.error("releasing claims failed", { conn: c.id, err }));
      wake(ctx, ctx.hub.get(m.meshId, box));
    } else {
      wake(ctx, ctx.hub.get(m.meshId, box));
    }
  }
}
