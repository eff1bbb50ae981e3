// When a mailbox was closed to a message, for the judge of a kill -9 chaos run (chaos-check.ts):
// by a grant of its member that leaves out the message's capability (protocol §5.9), or, for a
// `@group` message, by its member being out of the group (§4.3.16). Each is a setting a client
// changes by request: the change is `asked` (sent, and retried across kills until answered), then
// `confirmed` (answered, so stored and flushed). The broker reads both as a send resolves its
// recipients, at a moment between the send's step and its result's, so a send is judged against
// every value its settings may have had between those two steps. Pure: no sockets, no clock.
import type { Mailbox, Step } from "./chaos-check.ts";

type Send = Extract<Step, { kind: "send" }>;
export type Cap = "dm" | "broadcast" | "group" | "topic";

/** The capability each kind of send needs from each recipient (§5.9). */
export const CAP_OF: Record<Send["target"], Cap> = { dm: "dm", broadcast: "broadcast", group: "group", topic: "topic" };
/** Every capability, the grant a sender has from a recipient without an entry for it. */
const DEFAULT_CAPS: readonly Cap[] = ["dm", "broadcast", "group", "topic"];

/** Why a mailbox was surely closed to a send: a grant entry for `key` (the sender's member key, or
 *  its session key when the member key has none) without `cap`, or its member out of `group`. */
export type Reason = { why: "blocked"; cap: Cap; key: Mailbox } | { why: "left"; group: string };
/** `surely`: closed at every moment the send may have been resolved (a delivery is a leak);
 *  `maybe`: at some such moment (nothing is owed). */
export type Closed = { surely: Reason | null; maybe: boolean };
const OPEN: Closed = { surely: null, maybe: false };

/** One value of a setting: it may hold from when it was asked until the next change is confirmed. */
type Change<V> = { value: V; asked: number; confirmed: number };

/** Per key, the changes of one kind of setting in the order asked, as step indices (Infinity:
 *  never reached). A key's changes are asked one at a time, each after the last was confirmed. */
class Timelines<V> {
  private readonly byKey = new Map<string, Change<V>[]>();
  constructor(private readonly initial: V) {}
  asked(key: string, value: V, at: number): void {
    this.byKey.set(key, [...(this.byKey.get(key) ?? []), { value, asked: at, confirmed: Infinity }]);
  }
  confirmed(key: string, at: number): void {
    const last = this.byKey.get(key)?.at(-1);
    if (last && last.confirmed === Infinity) last.confirmed = at;
  }
  /** Every value the setting may have held at some moment strictly between steps `from` and `to`. */
  during(key: string, from: number, to: number): V[] {
    const cs = [{ value: this.initial, asked: -Infinity, confirmed: -Infinity }, ...(this.byKey.get(key) ?? [])];
    return cs.filter((c, k) => c.asked < to && (cs[k + 1]?.confirmed ?? Infinity) > from).map((c) => c.value);
  }
  /** Whether a change to a value `pick` accepts was confirmed before step `at`. */
  confirmedBefore(key: string, at: number, pick: (v: V) => boolean): boolean {
    return (this.byKey.get(key) ?? []).some((c) => c.confirmed < at && pick(c.value));
  }
}

/** The grants, group memberships and session keys of a run's history, read once. */
export class Access {
  private readonly grants = new Timelines<string[] | null>(null); // `${recipient mailbox} ${sender key}`
  private readonly groups = new Timelines<boolean>(false); // `${mailbox} @${group}`: in it
  private readonly joined = new Set<string>(); // `${mailbox} @${group}` that joined at some point
  private readonly memberOf = new Map<Mailbox, Mailbox>(); // session key → its member key
  private readonly sessions = new Map<Mailbox, Mailbox[]>(); // member key → its session keys
  private readonly sends = new Map<string, { send: Send; at: number }>(); // by cmid
  private readonly ackAt = new Map<string, number>(); // cmid → index of its result

  constructor(steps: readonly Step[]) {
    for (const [i, s] of steps.entries()) {
      if (s.kind === "send") this.sends.set(s.cmid, { send: s, at: i });
      else if (s.kind === "server-ack") this.ackAt.set(s.cmid, i);
      else if (s.kind === "session") {
        this.memberOf.set(s.mailbox, s.member);
        this.sessions.set(s.member, [...(this.sessions.get(s.member) ?? []), s.mailbox]);
      } else if (s.kind === "grant") {
        for (const to of s.to) {
          if (s.phase === "asked") this.grants.asked(`${to} ${s.from}`, s.caps, i);
          else this.grants.confirmed(`${to} ${s.from}`, i);
        }
      } else if (s.kind === "group-join" || s.kind === "group-leave") {
        for (const box of s.mailboxes) {
          if (s.kind === "group-join") this.joined.add(`${box} @${s.group}`);
          // A join without a phase was confirmed before any traffic: asked and confirmed at once.
          if (s.phase !== "confirmed") this.groups.asked(`${box} @${s.group}`, s.kind === "group-join", i);
          if (s.phase !== "asked") this.groups.confirmed(`${box} @${s.group}`, i);
        }
      }
    }
  }

  /** How `to` was closed to `send`, sent at step `sent` and answered at step `acked`. A member-key
   *  grant entry is looked up first, then the session key's (§5.9): a grant for a member's key
   *  also closes `to` to its sessions, one for a session key only to that session, and only while
   *  the member key has no entry. */
  closed(to: Mailbox, send: Send, sent: number, acked: number): Closed {
    const cap = CAP_OF[send.target];
    const member = this.memberOf.get(send.from) ?? send.from;
    const byMember = this.grants.during(`${to} ${member}`, sent, acked);
    const bySession = member !== send.from ? this.grants.during(`${to} ${send.from}`, sent, acked) : [null];
    // Every (entry that applies, its caps) the broker may have used, as [key, caps].
    const effective = byMember.flatMap((m) => (m !== null ? [[member, m] as const] : bySession.map((s) => [send.from, s ?? DEFAULT_CAPS] as const)));
    const blocked = effective.filter(([, caps]) => !caps.includes(cap));
    let surely: Reason | null = blocked.length === effective.length ? { why: "blocked", cap, key: blocked[0]![0] } : null;
    let maybe = blocked.length > 0;
    if (send.target === "group" && this.joined.has(`${to} @${send.group}`)) {
      const inGroup = this.groups.during(`${to} @${send.group}`, sent, acked);
      if (!inGroup.includes(true)) surely ??= { why: "left", group: send.group! };
      maybe ||= inGroup.includes(false);
    }
    return surely || maybe ? { surely, maybe } : OPEN;
  }

  /** How `to` was closed to the message sent as `cmid`; a message never answered is not judged
   *  (it may have been resolved at any later moment). */
  of(to: Mailbox, cmid: string): Closed {
    const [sent, acked] = [this.sends.get(cmid), this.ackAt.get(cmid)];
    return sent && acked !== undefined ? this.closed(to, sent.send, sent.at, acked) : OPEN;
  }

  /** Whether a leave of `group` by `to`'s member was confirmed before step `at`. */
  rejoinedBefore(to: Mailbox, group: string, at: number): boolean {
    return this.groups.confirmedBefore(`${to} @${group}`, at, (inGroup) => !inGroup);
  }

  /** Whether the message sent as `cmid` would surely have been blocked at `to` by an entry for
   *  `session`'s key, had that session sent it instead. */
  blocksAs(to: Mailbox, cmid: string, session: Mailbox): boolean {
    const [sent, acked] = [this.sends.get(cmid), this.ackAt.get(cmid)];
    const r = sent && acked !== undefined ? this.closed(to, { ...sent.send, from: session }, sent.at, acked).surely : null;
    return r?.why === "blocked" && r.key === session;
  }

  isSession(key: Mailbox): boolean {
    return this.memberOf.has(key);
  }

  /** The session keys `member` ran, as recorded. */
  sessionsOf(member: Mailbox): readonly Mailbox[] {
    return this.sessions.get(member) ?? [];
  }
}
