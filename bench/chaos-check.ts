// The judge of a kill -9 chaos run (bench/chaos.ts), Jepsen-style: the run records what each
// client did and saw as a list of steps, and checkHistory reads only those steps afterwards, so
// it can be tested on a synthetic history (test/integration/chaos.test.ts) and re-run on a saved
// one (`--history FILE` writes it as JSONL). Pure: no sockets, no clock.

/** Who may be sent to: a member's mailbox key and the name used in reports. */
export type Mailbox = string;

export type Step =
  /** A sender set out to send `cmid` (its text is the cmid); `to` is every mailbox that must get
   *  it once the broker acks it (for `*` and `#general`, the active members but the sender). */
  | { kind: "send"; from: Mailbox; cmid: string; seq: number; target: "dm" | "broadcast" | "topic"; to: Mailbox[] }
  /** The broker's `result` for that send reached the sender. `skipped`: its `undeliverable`. */
  | { kind: "server-ack"; cmid: string; messageId: string; topicOffset?: number; skipped: Mailbox[] }
  /** The broker refused it for good (its target was removed meanwhile): nothing is owed. */
  | { kind: "refused"; cmid: string; code: string }
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

type Of<K extends Step["kind"]> = Extract<Step, { kind: K }>;

/** Reads a JSONL history written with `--history`; lines of other kinds (kill, restart) are skipped. */
export function parseHistory(text: string): Step[] {
  const kinds = new Set(["send", "server-ack", "refused", "deliver", "recipient-ack", "removed", "topic-history", "start-failed", "power-loss"]);
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
 *  - order: per recipient and sender, first deliveries not in send order;
 *  - redelivered: delivered again after the recipient's ack was confirmed;
 *  - duplicate: one client message id stored under two message ids;
 *  - offsets: two messages at one topic offset, a delivery or the history disagreeing with the
 *    send's result, or a gap in the history that is not reported as `historyLost`;
 *  - start: a broker start (or the final check) refused the data directory. */
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

  for (const s of steps) {
    if (s.kind === "send") sends.set(s.cmid, s);
    else if (s.kind === "removed") removed.add(s.mailbox);
    else if (s.kind === "start-failed") bad.push(`start: ${s.cycle < 0 ? "the final serve --check" : `the broker start after kill ${s.cycle}`} refused the data directory: ${s.detail}`);
    else if (s.kind === "server-ack") {
      acks.set(s.cmid, s);
      sameId(s.cmid, s.messageId);
      sameOffset(s.cmid, s.messageId, s.topicOffset, "(result)");
    } else if (s.kind === "recipient-ack") confirmed.add(`${s.to} ${s.messageId}`);
    else if (s.kind === "deliver") {
      const origin = sends.get(s.cmid);
      if (!origin || origin.from !== s.from || s.text !== s.cmid || (origin.target === "dm" && !origin.to.includes(s.to)) || (origin.target !== "dm" && s.to === origin.from)) {
        bad.push(`phantom: ${s.cmid} (${s.messageId}) delivered to ${short(s.to)} but never sent so`);
        continue;
      }
      sameId(s.cmid, s.messageId);
      sameOffset(s.cmid, s.messageId, s.topicOffset, `in its delivery to ${short(s.to)}`);
      delivered.add(`${s.to} ${s.cmid}`);
      const key = `${s.to} ${s.messageId}`;
      if (confirmed.has(key)) bad.push(`redelivered: ${s.cmid} (${s.messageId}) to ${short(s.to)} after its ack was confirmed`);
      if (firstSeen.has(key)) continue; // a redelivery of a message not acked yet is allowed
      firstSeen.add(key);
      const pair = `${s.to} ${s.from}`;
      const last = lastSeq.get(pair);
      if (last && origin.seq <= last.seq) bad.push(`order: ${s.cmid} (${s.messageId}) first delivered to ${short(s.to)} after ${last.cmid}, a later message of its sender`);
      else lastSeq.set(pair, { seq: origin.seq, cmid: s.cmid });
    } else if (s.kind === "topic-history") checkTopic(s, bad, (cmid, messageId, offset) => {
      sameId(cmid, messageId);
      sameOffset(cmid, messageId, offset, "in the topic history");
    });
  }

  for (const [cmid, ack] of acks) {
    const send = sends.get(cmid)!;
    for (const to of send.to) {
      if (removed.has(to) || ack.skipped.includes(to) || delivered.has(`${to} ${cmid}`)) continue;
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
