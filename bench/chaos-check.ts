// The judge of a kill -9 chaos run (bench/chaos.ts), Jepsen-style: the run records what each
// client did and saw as a list of steps, and checkHistory reads only those steps afterwards, so
// it can be tested on a synthetic history (test/integration/chaos.test.ts) and re-run on a saved
// one (`--history FILE` writes it as JSONL). Pure: no sockets, no clock.
import { Access, type Cap, type Reason } from "./chaos-access.ts";

/** Who may be sent to: a member's mailbox key and the name used in reports. */
export type Mailbox = string;
export type Priority = "now" | "next" | "low";

export type Step =
  /** A sender set out to send `cmid` (its text is the cmid); `to` is every mailbox that must get
   *  it once the broker acks it (for `*` and `#general`, the active members but the sender; for
   *  `@group`, the active members of `group` but the sender). `priority`: absent means `next`. */
  | { kind: "send"; from: Mailbox; cmid: string; seq: number; target: "dm" | "broadcast" | "topic" | "group"; to: Mailbox[]; group?: string; priority?: Priority }
  /** The broker's `result` for that send reached the sender. `skipped`: its `undeliverable`.
   *  `duplicate`: it answered a retry, whose `undeliverable` is the original's (protocol §5.3). */
  | { kind: "server-ack"; cmid: string; messageId: string; topicOffset?: number; skipped: Mailbox[]; duplicate?: boolean }
  /** The broker refused it for good (its target was removed meanwhile, or every mailbox of a DM
   *  was full: `quota_exceeded`): nothing is owed, and nothing may be delivered. */
  | { kind: "refused"; cmid: string; code: string }
  /** A session key of a member connected (before any send): the member's grants apply to it. */
  | { kind: "session"; member: Mailbox; mailbox: Mailbox }
  /** A member's `group_join` or `group_leave` was sent (`asked`, once per change) or answered
   *  (`confirmed`); a join without `phase` was confirmed before any traffic. `mailboxes` (its key
   *  and its sessions') get the `@group` messages resolved while it is in; a mailbox that never
   *  joined may get none. */
  | { kind: "group-join"; group: string; mailboxes: Mailbox[]; phase?: "asked" | "confirmed" }
  | { kind: "group-leave"; group: string; mailboxes: Mailbox[]; phase: "asked" | "confirmed" }
  /** A presence's `set_status` was sent (`asked`, once per change, however often retried) or
   *  answered (`confirmed`). A confirmed `dnd` is stored and survives restarts (protocol §5.7);
   *  `working` starts again as `idle` on a new presence, so only `dnd` windows are judged. */
  | { kind: "status"; mailbox: Mailbox; status: "idle" | "working" | "dnd"; phase: "asked" | "confirmed" }
  /** A member's `grant_set` for sender key `from` (a member key, or a session key) was sent
   *  (`asked`, once per change) or answered (`confirmed`); `to` is that member's mailboxes (its key
   *  and its sessions'). Caps without a message kind's capability (`dm`, `broadcast`, `group`,
   *  `topic`) block that kind from `from` to them; `null` deletes the entry (chaos-access.ts). */
  | { kind: "grant"; to: Mailbox[]; from: Mailbox; caps: string[] | null; phase: "asked" | "confirmed" }
  | { kind: "deliver"; to: Mailbox; from: Mailbox; cmid: string; messageId: string; text: string; topicOffset?: number }
  /** The broker confirmed a recipient's ack (ack with an id). */
  | { kind: "recipient-ack"; to: Mailbox; messageId: string }
  /** A member's removal (kick or leave) was set off: from then on it is owed nothing. */
  | { kind: "removed"; mailbox: Mailbox }
  /** The final read of a topic's history, paged from offset 0 (`historyLost` on the first page). */
  | { kind: "topic-history"; topic: string; lastOffset: number; earliestOffset: number; historyLost: boolean; entries: { offset: number; messageId: string; cmid: string }[] }
  /** The broker was killed and its unsynced writes dropped (`--power-loss`) before the next start. */
  | { kind: "power-loss"; cycle: number }
  /** A broker start that failed its start checks, or the final `serve --check` that failed. */
  | { kind: "start-failed"; cycle: number; detail: string };

export type Of<K extends Step["kind"]> = Extract<Step, { kind: K }>;

/** Reads a JSONL history written with `--history`; lines of other kinds (kill, restart) are skipped. */
export function parseHistory(text: string): Step[] {
  const kinds = new Set(["send", "server-ack", "refused", "deliver", "recipient-ack", "removed", "topic-history", "start-failed", "power-loss", "group-join", "status", "grant", "session", "group-leave"]);
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Step)
    .filter((s) => kinds.has(s.kind));
}

const short = (key: string) => key.slice(0, 8);

/** Every violation of the run's invariants, one line each naming the message ids (empty: all hold):
 *  - lost: a send whose result the sender got was never delivered to one of its recipients;
 *  - phantom: a delivery of something never sent, or with another text, or to the sender itself;
 *  - order: per recipient and sender, first deliveries not in send order (for a recipient that
 *    ever changed its status, per gate class: `now` may overtake what the gate holds, §5.5);
 *  - redelivered: delivered again after the recipient's ack was confirmed;
 *  - duplicate: one client message id stored under two message ids;
 *  - offsets: two messages at one topic offset, a delivery or the history disagreeing with the
 *    send's result, or a gap in the history that is not reported as `historyLost`;
 *  - start: a broker start (or the final check) refused the data directory;
 *  - held: a `next` or `low` message sent while its recipient's `dnd` was confirmed was delivered
 *    to it before the next status change was asked (protocol §5.7: only `now` passes the gate).
 *  - leak: a message delivered to a mailbox that was closed to it at every moment between its
 *    send and its result (chaos-access.ts): its member's grant for the sender's key (its member
 *    key's entry, else its session key's) left out the message's capability, from that grant's
 *    answer to the next change's asking (protocol §5.9); or, for a `@group` message, its member
 *    was out of the group, from the leave's answer to the rejoin's asking. A message whose send
 *    may have met such a closing (answered after it was asked, sent before its undoing was
 *    answered) is owed nothing there.
 *  A phantom is also a delivery of a refused send, of a `@group` message to a mailbox whose
 *  member never joined that group, or of a message to a mailbox its result listed as skipped (its
 *  queue was full: that mailbox never got it, §5.3; not even as a copy for the member's next
 *  session, §5.1). A retry's result lists the original's `undeliverable` (§5.3), so a
 *  `duplicate` result owes what any other does. */
export function checkHistory(steps: readonly Step[]): string[] {
  const bad: string[] = [];
  const sends = new Map<string, Of<"send">>();
  const acks = new Map<string, Of<"server-ack">>();
  const idOf = new Map<string, string>();
  const offsetOf = new Map<string, number>();
  const atOffset = new Map<number, string>();
  const removed = new Set<Mailbox>();
  const delivered = new Set<string>(); // `${to} ${cmid}`
  const confirmed = new Set<string>(); // `${to} ${messageId}`
  const firstSeen = new Set<string>(); // `${to} ${messageId}`
  const lastSeq = new Map<string, { seq: number; cmid: string }>(); // `${to} ${from}`
  const inGroup = new Map<string, Set<Mailbox>>();
  const sentAt = new Map<string, number>(); // cmid → index of its send step
  const dndFrom = new Map<Mailbox, number>(); // index of a confirmed dnd not yet followed by a change
  const gated = new Set(steps.flatMap((s) => (s.kind === "status" ? [s.mailbox] : [])));

  const sameId = (cmid: string, messageId: string) => {
    const known = idOf.get(cmid);
    if (known !== undefined && known !== messageId) bad.push(`duplicate: ${cmid} stored as two messages, ${known} and ${messageId}`);
    else idOf.set(cmid, messageId);
  };
  const sameOffset = (cmid: string, messageId: string, offset: number | undefined, where: string) => {
    if (offset === undefined) return;
    const known = offsetOf.get(messageId);
    if (known !== undefined && known !== offset) bad.push(`offsets: ${cmid} (${messageId}) at offset ${known} in its result but ${offset} ${where}`);
    offsetOf.set(messageId, offset);
    const holder = atOffset.get(offset);
    if (holder !== undefined && holder !== messageId) bad.push(`offsets: ${cmid} (${messageId}) and ${holder} both at topic offset ${offset}`);
    atOffset.set(offset, messageId);
  };

  for (const [i, s] of steps.entries()) {
    if (s.kind === "send") (sends.set(s.cmid, s), sentAt.set(s.cmid, i));
    else if (s.kind === "removed") removed.add(s.mailbox);
    else if (s.kind === "group-join") inGroup.set(s.group, new Set([...(inGroup.get(s.group) ?? []), ...s.mailboxes]));
    else if (s.kind === "status") {
      if (s.phase === "asked") dndFrom.delete(s.mailbox);
      else if (s.status === "dnd") dndFrom.set(s.mailbox, i);
    }
    else if (s.kind === "start-failed") bad.push(`start: ${s.cycle < 0 ? "the final serve --check" : `the broker start after kill ${s.cycle}`} refused the data directory: ${s.detail}`);
    else if (s.kind === "server-ack") {
      acks.set(s.cmid, s);
      sameId(s.cmid, s.messageId);
      sameOffset(s.cmid, s.messageId, s.topicOffset, "(result)");
    } else if (s.kind === "recipient-ack") confirmed.add(`${s.to} ${s.messageId}`);
    else if (s.kind === "deliver") {
      const origin = sends.get(s.cmid);
      const outsideGroup = origin?.target === "group" && !inGroup.get(origin.group ?? "")?.has(s.to);
      if (!origin || origin.from !== s.from || s.text !== s.cmid || (origin.target === "dm" && !origin.to.includes(s.to)) || (origin.target !== "dm" && s.to === origin.from) || outsideGroup) {
        bad.push(`phantom: ${s.cmid} (${s.messageId}) delivered to ${short(s.to)} but never sent so`);
        continue;
      }
      const dnd = dndFrom.get(s.to);
      if ((origin.priority ?? "next") !== "now" && dnd !== undefined && sentAt.get(s.cmid)! > dnd) bad.push(`held: ${s.cmid} (${s.messageId}, ${origin.priority ?? "next"}) delivered to ${short(s.to)} while its dnd, confirmed before the send, stood`);
      sameId(s.cmid, s.messageId);
      sameOffset(s.cmid, s.messageId, s.topicOffset, `in its delivery to ${short(s.to)}`);
      delivered.add(`${s.to} ${s.cmid}`);
      const key = `${s.to} ${s.messageId}`;
      if (confirmed.has(key)) bad.push(`redelivered: ${s.cmid} (${s.messageId}) to ${short(s.to)} after its ack was confirmed`);
      if (firstSeen.has(key)) continue; // a redelivery of a message not acked yet is allowed
      firstSeen.add(key);
      const pair = `${s.to} ${s.from}${gated.has(s.to) ? ` ${origin.priority === "now"}` : ""}`;
      const last = lastSeq.get(pair);
      if (last && origin.seq <= last.seq) bad.push(`order: ${s.cmid} (${s.messageId}) first delivered to ${short(s.to)} after ${last.cmid}, a later message of its sender`);
      else lastSeq.set(pair, { seq: origin.seq, cmid: s.cmid });
    } else if (s.kind === "topic-history") checkTopic(s, bad, (cmid, messageId, offset) => {
      sameId(cmid, messageId);
      sameOffset(cmid, messageId, offset, "in the topic history");
    });
  }

  const refused = new Map(steps.flatMap((s) => (s.kind === "refused" ? [[s.cmid, s] as const] : [])));
  for (const d of steps) if (d.kind === "deliver" && refused.has(d.cmid)) bad.push(`phantom: ${d.cmid} (${d.messageId}) delivered to ${short(d.to)} though its send was refused (${refused.get(d.cmid)!.code})`);
  const skippedAt = new Set<string>(); // `${to} ${cmid}`: its redeliveries are the same phantom
  for (const d of steps) {
    if (d.kind !== "deliver" || skippedAt.has(`${d.to} ${d.cmid}`) || !acks.get(d.cmid)?.skipped.includes(d.to)) continue;
    skippedAt.add(`${d.to} ${d.cmid}`);
    bad.push(`phantom: ${d.cmid} (${d.messageId}) delivered to ${short(d.to)}, which its send skipped (a full queue)`);
  }
  const access = new Access(steps);
  const leaked = new Set<string>(); // `${to} ${cmid}`: its redeliveries are the same leak
  for (const d of steps) {
    if (d.kind !== "deliver" || leaked.has(`${d.to} ${d.cmid}`)) continue;
    const reason = access.of(d.to, d.cmid).surely;
    if (reason) (leaked.add(`${d.to} ${d.cmid}`), bad.push(`leak: ${d.cmid} (${d.messageId}) delivered to ${short(d.to)}, which ${reasonText(reason)}`));
  }
  for (const [cmid, ack] of acks) {
    const send = sends.get(cmid)!;
    for (const to of send.to) {
      if (removed.has(to) || ack.skipped.includes(to) || delivered.has(`${to} ${cmid}`) || access.of(to, cmid).maybe) continue;
      bad.push(`lost: ${cmid} (${ack.messageId}, ${send.target}) acked to its sender but never delivered to ${short(to)}`);
    }
  }
  // Every acked topic post is in the final history, unless trimmed (reported as lost history).
  for (const h of steps.filter((s): s is Of<"topic-history"> => s.kind === "topic-history")) {
    const held = new Set(h.entries.map((e) => e.messageId));
    for (const [cmid, ack] of acks) {
      if (sends.get(cmid)!.target !== "topic" || ack.topicOffset === undefined || held.has(ack.messageId)) continue;
      if (h.historyLost && ack.topicOffset < h.earliestOffset) continue;
      bad.push(`offsets: ${cmid} (${ack.messageId}) acked at offset ${ack.topicOffset} but missing from the history of #${h.topic}`);
    }
  }
  return bad;
}

const LABEL: Record<Cap, string> = { dm: "DMs", broadcast: "broadcasts", group: "@group posts", topic: "topic posts" };
/** The end of a leak's line: what closed the mailbox before the message was sent. */
function reasonText(r: Reason): string {
  return r.why === "blocked" ? `blocked its sender's ${LABEL[r.cap]} before it was sent` : `had left @${r.group} before it was sent`;
}

/** The history must run without a gap from its earliest offset to its last; offsets before the
 *  earliest may be gone only when the broker said so (`historyLost`). */
function checkTopic(h: Of<"topic-history">, bad: string[], seen: (cmid: string, messageId: string, offset: number) => void): void {
  let expected = h.earliestOffset;
  if (h.earliestOffset > 1 && !h.historyLost) bad.push(`offsets: #${h.topic} starts at offset ${h.earliestOffset} without historyLost`);
  for (const e of h.entries) {
    if (e.offset !== expected) bad.push(`offsets: #${h.topic} jumps from offset ${expected - 1} to ${e.offset} (${e.cmid}, ${e.messageId}) without historyLost`);
    expected = e.offset + 1;
    seen(e.cmid, e.messageId, e.offset);
  }
  if (expected - 1 !== h.lastOffset) bad.push(`offsets: #${h.topic} history ends at ${expected - 1} but its lastOffset is ${h.lastOffset}`);
}
