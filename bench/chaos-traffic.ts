// The traffic of a kill -9 chaos run (bench/chaos.ts): real BrokerClients (they reconnect by
// themselves when the broker dies) sending DMs, broadcasts, #general and @crew posts, at seeded
// priorities, one at a time, each
// retried with its client message id until the broker's result arrives; every member acks what it
// gets in batches; invites are created and claimed, one member is kicked and one leaves. Each step
// goes into a Recorder for chaos-check.ts.
import { appendFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { BrokerClient } from "../src/client/client.ts";
import { claimInvite } from "../src/client/http.ts";
import { SessionAttestor } from "../src/client/credentials.ts";
import { inviteCanonical, inviteKeyCanonical } from "../src/protocol/canonical.ts";
import { MeshError } from "../src/protocol/errors.ts";
import { generateSigningKeypair, signDetached, signingKeypairFromSeed, type SigningKeypair } from "../src/crypto/sign.ts";
import { randomId } from "../src/crypto/hash.ts";
import type { Step } from "./chaos-check.ts";

/** The steps so far, also appended to `file` as JSONL when given (with kill and restart notes). */
export class Recorder {
  readonly steps: Step[] = [];
  constructor(private readonly file?: string) {}
  record(step: Step): void {
    this.steps.push(step);
    if (this.file) appendFileSync(this.file, JSON.stringify({ t: performance.now(), ...step }) + "\n");
  }
  note(kind: string, data: Record<string, unknown> = {}): void {
    if (this.file) appendFileSync(this.file, JSON.stringify({ t: performance.now(), kind, ...data }) + "\n");
  }
}

export type Member = { name: string; meshId: string; memberId: string; keys: SigningKeypair };
/** A connected client; for a session, `keys` are the session's and `name` is `<member>_s`. */
export type Peer = Member & { client: BrokerClient; pending: Set<Promise<unknown>> };

/** How long a recipient holds its acks before confirming them together, so that at any kill some
 *  deliveries are unacked, as with a real reader. */
const ACK_EVERY_MS = 100;
/** Pause between a retryable failure and the retry of a send or an operation. */
const RETRY_PAUSE_MS = 50;
/** Short enough that a send lost in a killed broker is tried again soon after the restart. */
const CLIENT = { requestTimeoutMs: 3_000, handshakeTimeoutMs: 3_000, pingIdleMs: 1_000, pongTimeoutMs: 1_000 };

/** Who is in the mesh as the clients know it: members whose claim was answered, less those whose
 *  removal was set off (they are owed nothing from then on), with the session keys each member
 *  runs (a session connected once before any send is one of its member's mailboxes, §5.1). */
export class Roster {
  readonly active = new Map<string, Member>();
  private readonly sessions = new Map<string, string[]>(); // member key → its session keys
  private readonly groups = new Map<string, Set<string>>(); // group → its member keys
  add(m: Member): void {
    this.active.set(m.keys.publicKey, m);
  }
  addSession(member: Member, sessionKey: string): void {
    this.sessions.set(member.keys.publicKey, [...(this.sessions.get(member.keys.publicKey) ?? []), sessionKey]);
  }
  remove(m: Member, rec: Recorder): void {
    this.active.delete(m.keys.publicKey);
    for (const mailbox of this.mailboxesOf(m.keys.publicKey)) rec.record({ kind: "removed", mailbox });
  }
  /** A member key's mailboxes: its own and its sessions'. */
  mailboxesOf(member: string): string[] {
    return [member, ...(this.sessions.get(member) ?? [])];
  }
  /** Whether `mailbox` (a member or session key) belongs to an active member. */
  has(mailbox: string): boolean {
    return [...this.active.keys()].some((k) => this.mailboxesOf(k).includes(mailbox));
  }
  /** Every mailbox of the active members but `of` (the sending key's own, and only that one). */
  others(of: string): string[] {
    return [...this.active.keys()].flatMap((k) => this.mailboxesOf(k)).filter((k) => k !== of);
  }
  /** Records that `member`'s `group_join` was confirmed. */
  joinGroup(group: string, member: Member): void {
    this.groups.set(group, new Set([...(this.groups.get(group) ?? []), member.keys.publicKey]));
  }
  /** The mailboxes a `@group` send from `of` reaches: the active members in it and their
   *  sessions, but the sending key (§5.1); empty when nobody joined it. */
  groupOthers(group: string, of: string): string[] {
    return [...(this.groups.get(group) ?? [])].filter((k) => this.active.has(k)).flatMap((k) => this.mailboxesOf(k)).filter((k) => k !== of);
  }
  /** The mailboxes a DM to `key` reaches: a member key fans out to its sessions, a session key not. */
  dmMailboxes(key: string): string[] {
    return this.active.has(key) ? this.mailboxesOf(key) : [key];
  }
}

/** Connects `m` as a recipient that records every push and confirms its acks in batches; with
 *  `session`, as that session key of `m` (`session_hello` with `m`'s attestation), which then
 *  sends, receives and acks under its own key and is named `<m.name>_s`. */
export async function connectPeer(url: string, m: Member, rec: Recorder, session?: SigningKeypair): Promise<Peer> {
  const mailbox = session?.publicKey ?? m.keys.publicKey;
  const pending = new Set<Promise<unknown>>();
  let unacked: string[] = [];
  const track = (p: Promise<unknown>) => (pending.add(p), void p.finally(() => pending.delete(p)));
  const flush = () => {
    const ids = unacked;
    unacked = [];
    if (client.state === "closed") return;
    track(client.ackSync(ids).then(
      () => ids.forEach((messageId) => rec.record({ kind: "recipient-ack", to: mailbox, messageId })),
      () => {}, // unknown outcome: the messages may come again, which is allowed
    ));
  };
  const client: BrokerClient = new BrokerClient({
    url,
    credentials: session
      ? { kind: "session", meshId: m.meshId, memberId: m.memberId, memberKeys: m.keys, sessionKeys: session, attestor: new SessionAttestor(m.keys, session.publicKey) }
      : { kind: "member", meshId: m.meshId, memberId: m.memberId, keys: m.keys },
    where: { sessionId: randomId(), pid: process.pid, cwd: `/chaos/${m.name}${session ? "/session" : ""}`, hostname: "chaos" },
    ...CLIENT,
    firstConnect: "retry", // a member that joined just before a kill connects to the restarted broker
    onState: (state, detail) => rec.note("client-state", { name: session ? `${m.name}_s` : m.name, mailbox, state, ...detail }),
    onMessage: (msg) => {
      const text = Buffer.from(msg.ciphertext, "base64").toString();
      rec.record({ kind: "deliver", to: mailbox, from: msg.from.pubkey, cmid: msg.clientMessageId, messageId: msg.messageId, text, ...(msg.topicOffset !== undefined ? { topicOffset: msg.topicOffset } : {}) });
      if (unacked.length === 0) setTimeout(flush, ACK_EVERY_MS);
      unacked.push(msg.messageId);
    },
  });
  await client.connect();
  return session ? { ...m, name: `${m.name}_s`, keys: session, client, pending } : { ...m, client, pending };
}

const envelope = (text: string) => ({ nonce: randomBytes(24).toString("base64"), ciphertext: Buffer.from(text).toString("base64") });
const retryable = (err: unknown) => err instanceof MeshError && err.retryable;

/** The group some members join before the traffic starts (chaos.ts) and senders post to. */
export const GROUP = "crew";

/** Sends from `p` until `running()` turns false, one message at a time to a target `random`
 *  picks (a DM to an active member, `*`, `#general` or `@crew`) with a priority it picks (`now`,
 *  `next` or `low`), each retried with its client message id until its result arrives or the
 *  broker refuses it for good. Resolves with the count sent. */
export async function sendLoop(p: Peer, roster: Roster, rec: Recorder, random: () => number, running: () => boolean): Promise<number> {
  const me = p.keys.publicKey;
  let seq = 0;
  while (running()) {
    const others = roster.others(me);
    const r = random();
    const crew = roster.groupOthers(GROUP, me);
    const target = r < 0.45 && others.length > 0 ? "dm" : r < 0.65 ? "broadcast" : r < 0.85 || crew.length === 0 ? "topic" : "group";
    const dmTo = others[Math.floor(random() * others.length)]!;
    const to = target === "dm" ? dmTo : target === "broadcast" ? "*" : target === "topic" ? "#general" : `@${GROUP}`;
    const p2 = random();
    const priority = p2 < 0.2 ? "now" : p2 < 0.7 ? undefined : "low"; // absent: the default, next
    const cmid = `${p.name}-${String(++seq).padStart(6, "0")}`;
    const recipients = target === "dm" ? roster.dmMailboxes(dmTo) : target === "group" ? crew : others;
    rec.record({ kind: "send", from: me, cmid, seq, target, to: recipients, ...(target === "group" ? { group: GROUP } : {}), ...(priority ? { priority } : {}) });
    for (;;) {
      try {
        const res = await p.client.request("send", { to, clientMessageId: cmid, ...envelope(cmid), ...(priority ? { priority } : {}) });
        rec.record({ kind: "server-ack", cmid, messageId: res.messageId, skipped: res.undeliverable.map((u) => u.to), ...(res.topicOffset !== undefined ? { topicOffset: res.topicOffset } : {}), ...(res.duplicate ? { duplicate: true } : {}) });
        break;
      } catch (err) {
        // A DM whose every mailbox is full stored nothing (§5.11): it is given up, not retried
        // (the code is retryable, but only once the recipient reads), so nothing is owed.
        if (err instanceof MeshError && err.code === "quota_exceeded" && target === "dm") {
          rec.record({ kind: "refused", cmid, code: err.code });
          break;
        }
        if (!retryable(err)) {
          // A DM to a member removed meanwhile is refused; anything else is a finding.
          if (!(err instanceof MeshError) || target !== "dm" || roster.has(dmTo)) throw err;
          rec.record({ kind: "refused", cmid, code: err.code });
          break;
        }
        if (!running()) return seq; // unanswered: the judge allows it to arrive or not
        await Bun.sleep(RETRY_PAUSE_MS);
      }
    }
  }
  return seq;
}

/** Runs `op` until it resolves, retrying it while it fails in a way that may pass (the broker
 *  was killed under it); `done(err)` says which other errors mean it already took effect. */
export async function untilDone<T>(op: () => Promise<T>, done: (err: unknown) => boolean = () => false, giveUpMs = 60_000): Promise<T | undefined> {
  const end = Date.now() + giveUpMs;
  for (;;) {
    try {
      return await op();
    } catch (err) {
      if (done(err)) return undefined;
      const transient = retryable(err) || !(err instanceof MeshError) || err.code === "not_found"; // a claim of an invite whose creation was lost
      if (!transient || Date.now() > end) throw err;
      await Bun.sleep(RETRY_PAUSE_MS);
    }
  }
}

/** Creates an invite over `admin`'s connection and claims it over HTTP as a new member `name`.
 *  Rejects when either step's outcome is unknown (the broker died under it): the caller then
 *  forgets that member, which is never owed anything. */
export async function inviteAndClaim(url: string, admin: Peer, name: string): Promise<Member> {
  const inviteKeys = signingKeypairFromSeed(new Uint8Array(randomBytes(32)));
  const inviteId = randomId();
  const expiresAt = Math.floor(Date.now() / 1000) + 3600;
  const signature = signDetached(inviteCanonical(admin.meshId, inviteId, expiresAt, "member", admin.keys.publicKey), admin.keys.secretKey);
  const keySignature = signDetached(inviteKeyCanonical(admin.meshId, inviteId, inviteKeys.publicKey, 1), admin.keys.secretKey);
  await admin.client.request("invite_create", { inviteId, expiresAt, role: "member", maxUses: 1, invitePubkey: inviteKeys.publicKey, signature, keySignature });
  const keys = generateSigningKeypair();
  const r = await claimInvite(url, { inviteId, meshId: admin.meshId, inviteKeys, joiner: keys, displayName: name });
  return { name, meshId: admin.meshId, memberId: r.member.memberId, keys };
}
