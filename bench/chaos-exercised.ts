// What the gating, group, quota and grant parts of a kill -9 chaos run carried, for its summary
// (bench/chaos.ts): the CI runs assert each count is above 0, so that a part that stops carrying
// traffic fails there rather than passing the judge (chaos-check.ts) unexamined. Pure.
import { Access } from "./chaos-access.ts";
import type { Mailbox, Of, Step } from "./chaos-check.ts";

/** The counts, from a run's history:
 *  - groupSends, nowSends: acked `@group` and `now` sends;
 *  - statusChanges: confirmed status changes; gatedNow: `now` messages delivered through a
 *    standing dnd; heldReleased: `next`/`low` messages sent during a dnd and delivered to that
 *    mailbox once it was lifted;
 *  - quotaRefusals, quotaSkips: DMs refused and mailboxes skipped because their queue was full;
 *  - grantChanges: answered grant changes; blockedDms, blockedBroadcasts, blockedTopicPosts,
 *    blockedGroupPosts: acked sends of that kind with a recipient whose grant surely blocked it;
 *  - sessionKeyBlocked: acked sends from a session key surely blocked by an entry for that
 *    session key; memberKeyPassed: deliveries of its member key's messages to such a recipient
 *    that would have been blocked had the session sent them;
 *  - groupLeaves: confirmed group leaves; sentWhileOut: acked `@group` sends with a recipient
 *    surely out of the group; deliveredAfterRejoin: `@group` messages first delivered to a mailbox
 *    surely in the group again after a confirmed leave. */
export function exercised(steps: readonly Step[]): Record<string, number> {
  const n = { groupSends: 0, nowSends: 0, statusChanges: 0, gatedNow: 0, heldReleased: 0, quotaRefusals: 0, quotaSkips: 0, grantChanges: 0, blockedDms: 0, blockedBroadcasts: 0, blockedTopicPosts: 0, blockedGroupPosts: 0, sessionKeyBlocked: 0, memberKeyPassed: 0, groupLeaves: 0, sentWhileOut: 0, deliveredAfterRejoin: 0 };
  const blockedOf = { dm: "blockedDms", broadcast: "blockedBroadcasts", topic: "blockedTopicPosts", group: "blockedGroupPosts" } as const;
  const access = new Access(steps);
  const sends = new Map<string, Of<"send">>();
  const dndFrom = new Map<Mailbox, number>();
  const heldFor = new Set<string>(); // `${to} ${cmid}`: sent while `to` stood on dnd
  const sentAt = new Map<string, number>();
  const seen = new Set<string>(); // `${to} ${cmid}` delivered at least once
  for (const [i, s] of steps.entries()) {
    if (s.kind === "send") {
      sends.set(s.cmid, s);
      sentAt.set(s.cmid, i);
      if (s.priority !== "now") for (const to of s.to) if (dndFrom.has(to)) heldFor.add(`${to} ${s.cmid}`);
    } else if (s.kind === "status") {
      if (s.phase === "asked") dndFrom.delete(s.mailbox);
      else (n.statusChanges++, s.status === "dnd" && dndFrom.set(s.mailbox, i));
    } else if (s.kind === "server-ack") {
      const send = sends.get(s.cmid);
      n.groupSends += send?.target === "group" ? 1 : 0;
      n.nowSends += send?.priority === "now" ? 1 : 0;
      n.quotaSkips += s.skipped.length;
      const reasons = (send?.to ?? []).map((to) => access.of(to, s.cmid).surely);
      if (reasons.some((r) => r?.why === "blocked")) n[blockedOf[send!.target]]++;
      if (reasons.some((r) => r?.why === "blocked" && r.key === send!.from && access.isSession(send!.from))) n.sessionKeyBlocked++;
      if (reasons.some((r) => r?.why === "left")) n.sentWhileOut++;
    } else if (s.kind === "refused") n.quotaRefusals += s.code === "quota_exceeded" ? 1 : 0;
    else if (s.kind === "grant") n.grantChanges += s.phase === "confirmed" ? 1 : 0;
    else if (s.kind === "group-leave") n.groupLeaves += s.phase === "confirmed" ? 1 : 0;
    else if (s.kind === "deliver") {
      const dnd = dndFrom.get(s.to);
      const send = sends.get(s.cmid);
      if (send?.priority === "now" && dnd !== undefined && sentAt.get(s.cmid)! > dnd) n.gatedNow++;
      if (heldFor.delete(`${s.to} ${s.cmid}`) && dnd === undefined) n.heldReleased++;
      if (!send || seen.has(`${s.to} ${s.cmid}`)) continue;
      seen.add(`${s.to} ${s.cmid}`);
      if (access.sessionsOf(send.from).some((session) => access.blocksAs(s.to, s.cmid, session))) n.memberKeyPassed++;
      if (send.target === "group" && !access.of(s.to, s.cmid).maybe && access.rejoinedBefore(s.to, send.group!, sentAt.get(s.cmid)!)) n.deliveredAfterRejoin++;
    }
  }
  return n;
}
