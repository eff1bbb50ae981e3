// The delivery workload and its judge for the chaos tests (reliability plan §3, T1 conventions):
// senders send DMs with client message ids `name-seq`, one at a time, retrying a failed send with
// the same id; recipients ack each push and wait for the broker's confirmation. Every step goes
// into a History (JSONL when CHAOS_HISTORY names a file), and checkHistory judges it afterwards.
import { appendFileSync } from "node:fs";
import type { BrokerClient } from "../../src/client/client.ts";
import { MeshError } from "../../src/protocol/errors.ts";
import type { MessagePushFrame } from "../../src/protocol/server-frames.ts";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";
import { addMember, connect, createTestMesh, envelope, textOf, type TestMember, type TestPeer } from "./mesh.ts";
import { until } from "./until.ts";
import { seeded } from "../../bench/seeded.ts";

export type Step =
  | { kind: "send"; from: string; to: string; cmid: string; seq: number }
  | { kind: "server-ack"; cmid: string; messageId: string }
  | { kind: "deliver"; to: string; cmid: string; messageId: string; text: string }
  /** The broker confirmed the recipient's ack (t); `askedAt`: when the ack was sent, if known. */
  | { kind: "recipient-ack"; to: string; messageId: string; askedAt?: number }
  /** A send answered with a retryable error (or timed out), about to be sent again. */
  | { kind: "retry"; cmid: string; code: string };

/** What happened, in order, each step stamped with performance.now(). */
export class History {
  readonly steps: (Step & { t: number })[] = [];
  private readonly file = process.env.CHAOS_HISTORY;
  record(step: Step): void {
    const s = { t: performance.now(), ...step };
    this.steps.push(s);
    if (this.file) appendFileSync(this.file, JSON.stringify(s) + "\n");
  }
  /** A pause, kill or cut, for the JSONL reader (not judged). */
  note(what: string): void {
    if (this.file) appendFileSync(this.file, JSON.stringify({ t: performance.now(), kind: what }) + "\n");
  }
}

/** Short client timeouts, so a stalled broker is given up on and reconnected to within a second. */
export const FAST_CLIENT = { requestTimeoutMs: 500, pingIdleMs: 200, pongTimeoutMs: 200, handshakeTimeoutMs: 800 };

/** How long a recipient holds its acks before sending them together. */
const ACK_EVERY_MS = 100;

export type Actor = { name: string; mailbox: string; peer: TestPeer; /** Times its link dropped and it set out to reconnect. */ drops: number };

/** Connects `m` as a recipient that records every push and acks what it got every `ackEveryMs`
 *  with ackSync, recording the broker's confirmation (so that at any moment some pushes are
 *  unacked, as with a real reader). `acks` collects the acks in flight (settled, never rejecting). */
export async function actor(url: string, name: string, m: TestMember, h: History, acks: Set<Promise<void>>, extra: Parameters<typeof connect>[3] = {}, ackEveryMs = ACK_EVERY_MS): Promise<Actor> {
  let client: BrokerClient | undefined;
  const mailbox = extra.credentials?.kind === "session" ? extra.credentials.sessionKeys.publicKey : m.keys.publicKey;
  let unacked: string[] = [];
  const flush = () => {
    if (unacked.length === 0) return;
    const ids = unacked;
    unacked = [];
    const askedAt = performance.now();
    const ack: Promise<void> = client!.ackSync(ids).then(
      () => ids.forEach((messageId) => h.record({ kind: "recipient-ack", to: mailbox, messageId, askedAt })),
      () => {}, // unknown outcome: the messages may come again, which is allowed
    );
    acks.add(ack);
    void ack.finally(() => acks.delete(ack));
  };
  const onMessage = (msg: MessagePushFrame) => {
    h.record({ kind: "deliver", to: mailbox, cmid: msg.clientMessageId, messageId: msg.messageId, text: textOf(msg) });
    if (unacked.length === 0) setTimeout(flush, ackEveryMs);
    unacked.push(msg.messageId);
  };
  const onState = (state: string) => {
    if (state !== "reconnecting") return;
    self.drops++;
    h.note(`${name} reconnecting`);
  };
  const peer = await connect(url, m, { cwd: `/chaos/${name}` }, { ...FAST_CLIENT, ...extra, onMessage, onState });
  client = peer.client;
  const self: Actor = { name, mailbox, peer, drops: 0 };
  return self;
}

/** Sends from `a` to `to` until `running()` turns false: one message at a time, each retried with
 *  its client message id while the error is retryable, until the broker acks it (so a later one
 *  is never sent before it). Resolves with the number of messages sent; rejects on an error that
 *  is not retryable. */
export async function sendLoop(a: Actor, to: string, h: History, running: () => boolean, pauseMs = 5): Promise<number> {
  let seq = 0;
  while (running()) {
    seq++;
    const cmid = `${a.name}-${String(seq).padStart(6, "0")}`; // ids have 8 characters or more
    h.record({ kind: "send", from: a.mailbox, to, cmid, seq });
    for (;;) {
      try {
        const r = await a.peer.client.request("send", { to, clientMessageId: cmid, ...envelope(cmid) });
        h.record({ kind: "server-ack", cmid, messageId: r.messageId });
        break;
      } catch (err) {
        if (!(err instanceof MeshError) || !err.retryable) throw err;
        h.record({ kind: "retry", cmid, code: err.code });
        if (!running()) return seq; // unacked: the judge allows it to arrive or not
        await Bun.sleep(20);
      }
    }
    await Bun.sleep(pauseMs);
  }
  return seq;
}

/** The workload of the chaos tests on a new mesh of `brokerUrl`: alice and bob with their member
 *  keys and carol with a session key, reaching the broker at `clientUrl` (a proxy, or the broker),
 *  each sending to the next (alice → bob → carol's session → alice). */
export async function startRing(brokerUrl: string, clientUrl = brokerUrl) {
  const h = new History();
  const acks = new Set<Promise<void>>();
  const { owner } = await createTestMesh(brokerUrl, "alice");
  const [bob, carol] = [await addMember(brokerUrl, owner, "bob"), await addMember(brokerUrl, owner, "carol")];
  const credentials = { kind: "session" as const, meshId: carol.meshId, memberId: carol.memberId, memberKeys: carol.keys, sessionKeys: generateSigningKeypair() };
  const actors = [await actor(clientUrl, "alice", owner, h, acks), await actor(clientUrl, "bob", bob, h, acks), await actor(clientUrl, "carol", carol, h, acks, { credentials })];
  let running = true;
  const loops = actors.map((a, i) => sendLoop(a, actors[(i + 1) % actors.length]!.mailbox, h, () => running));
  return {
    h,
    owner,
    actors,
    /** Once every sender had a message acked after now, stops sending; resolves once every
     *  message the broker acked was delivered and every ack sent was answered. */
    async finish(backMs: number): Promise<void> {
      const from = performance.now();
      await until(() => sendersAckedSince(h, from) === actors.length, "every sender to make progress", backMs);
      running = false;
      await Promise.all(loops);
      await until(() => undelivered(h).length === 0, "every acked message to be delivered", 15_000);
      await Promise.all(acks);
    },
    /** What list_peers should show once all is calm: each actor once, online; carol's member key
     *  (never connected) and the members in `offline` once, offline. */
    peersAtRest(offline: string[] = []) {
      const rows = [...actors.map((a) => ({ pubkey: a.mailbox, online: true })), ...[carol.keys.publicKey, ...offline].map((pubkey) => ({ pubkey, online: false }))];
      return rows.sort((a, b) => a.pubkey.localeCompare(b.pubkey));
    },
  };
}

const stepsOf = <K extends Step["kind"]>(h: History, kind: K) => h.steps.filter((s): s is Extract<Step, { kind: K }> & { t: number } => s.kind === kind);

/** The cmids the broker acked that have not been delivered to their recipient yet. */
export function undelivered(h: History): string[] {
  const delivered = new Set(stepsOf(h, "deliver").map((s) => s.cmid));
  return stepsOf(h, "server-ack").flatMap((s) => (delivered.has(s.cmid) ? [] : [s.cmid]));
}

/** How many senders had a message acked by the broker after `t` (performance.now()). */
export const sendersAckedSince = (h: History, t: number): number => new Set(stepsOf(h, "server-ack").flatMap((s) => (s.t > t ? [s.cmid.split("-")[0]] : []))).size;

/** The T1 invariants, as a list of violations (empty when all hold):
 *  - every message the broker acked was delivered to its recipient;
 *  - nothing was delivered that was not sent, to that recipient, with that text;
 *  - per sender, first deliveries come in send order (redeliveries may repeat older ones);
 *  - a message is never delivered again after its recipient's ack was confirmed;
 *  - the broker gave each client message id one message id. */
export function checkHistory(h: History): string[] {
  const bad: string[] = [];
  const sent = new Map<string, Extract<Step, { kind: "send" }>>();
  const idOf = new Map<string, string>();
  const acked = new Set<string>();
  const firstSeen = new Set<string>();
  const lastSeq = new Map<string, number>();
  for (const s of h.steps) {
    if (s.kind === "send") sent.set(s.cmid, s);
    else if (s.kind === "server-ack" || s.kind === "deliver") {
      const known = idOf.get(s.cmid);
      if (known !== undefined && known !== s.messageId) bad.push(`${s.cmid} has two message ids: ${known} and ${s.messageId}`);
      idOf.set(s.cmid, s.messageId);
    }
    if (s.kind === "recipient-ack") acked.add(s.messageId);
    if (s.kind !== "deliver") continue;
    const origin = sent.get(s.cmid);
    if (!origin || origin.to !== s.to || s.text !== s.cmid) {
      bad.push(`delivered but never sent: ${s.cmid} to ${s.to.slice(0, 8)}`);
      continue;
    }
    if (acked.has(s.messageId)) bad.push(`${s.cmid} delivered again after its ack was confirmed`);
    if (firstSeen.has(s.messageId)) continue; // a redelivery of a message not acked yet
    firstSeen.add(s.messageId);
    if (origin.seq <= (lastSeq.get(origin.from) ?? 0)) bad.push(`${s.cmid} first delivered after a later message of its sender`);
    lastSeq.set(origin.from, origin.seq);
  }
  for (const cmid of undelivered(h)) bad.push(`acked by the broker but never delivered: ${cmid}`);
  return bad;
}

/** A gauge's value from the broker's /metrics (`broker_connections_active`, `broker_queue_depth`). */
export async function gauge(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1]);
}

/** Resolves once the broker holds exactly `n` connections in `n` presences (its gauge, and the
 *  operator's overview of its memory, where a socket it forgot to detach would stay counted) and
 *  its queue is empty; throws naming what did not come back. */
export async function settled(url: string, operatorToken: string, n: number): Promise<void> {
  const overview = async () => {
    const res = await fetch(`${url}/v1/dashboard/operator/overview`, { headers: { authorization: `Bearer ${operatorToken}` } });
    const { presences, connections } = (await res.json()) as { presences: number; connections: number };
    return presences === n && connections === n;
  };
  await until(async () => (await gauge(url, "broker_connections_active")) === n, `broker_connections_active to come back to ${n}`, 5_000);
  await until(overview, `the broker's presences and connections to be the ${n} live clients`, 5_000);
  await until(async () => (await gauge(url, "broker_queue_depth")) === 0, "the queue to be empty", 5_000);
}

/** Every peer `list_peers` shows to `asker`: its pubkey (as often as listed) and whether online. */
export async function listedPeers(asker: BrokerClient): Promise<{ pubkey: string; online: boolean }[]> {
  const { peers } = await asker.request("list_peers", {});
  return peers.map((p) => ({ pubkey: p.pubkey, online: p.online })).sort((a, b) => a.pubkey.localeCompare(b.pubkey));
}

/** A seeded random source (mulberry32) for the chaos schedule: FUZZ_SEED replays a run, and the
 *  seed in use is printed so that a failure can be replayed. */
export function chaosRandom(what: string): () => number {
  const seed = Number(process.env.FUZZ_SEED) || Math.floor(Math.random() * 2 ** 31);
  console.log(`${what}: FUZZ_SEED=${seed}`);
  return seeded(seed);
}
