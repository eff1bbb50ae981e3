// The fixed script of the I/O-error loop (reliability plan T3, test/integration/io-error-loop.test.ts):
// about forty operations that each make the broker write (hellos, DMs to an offline and an online
// member, acks, topic and group posts, presence, invites created, claimed and revoked, grants, a
// removal, a key rotation), run one after another so that a clean run makes the same writes in
// the same order every time. Each operation records what the client was told; `holds` says how
// a later broker must show an operation that was acknowledged. What an operation that failed did
// is unknown (a commit may have reached the disk before its flush failed), so it is not judged.
import { randomId } from "../../src/crypto/hash.ts";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";
import type { Cap } from "../../src/protocol/fields.ts";
import type { MessagePushFrame } from "../../src/protocol/server-frames.ts";
import { claimInvite } from "../../src/client/http.ts";
import { addMember, connect, createInvite, createTestMesh, envelope, textOf, type TestMember, type TestPeer } from "./mesh.ts";

/** The members, made before any fault: `owner` and `carol` are online during the script, `bob`
 *  stays offline until the checks. */
export type Cast = { owner: TestMember; bob: TestMember; carol: TestMember };

export async function makeCast(url: string): Promise<Cast> {
  const { owner } = await createTestMesh(url);
  return { owner, bob: await addMember(url, owner, "bob"), carol: await addMember(url, owner, "carol") };
}

/** What one operation was told: its result, or the error it got (code and message). */
export type Outcome = { op: string; ok: true } | { op: string; ok: false; error: string };

/** The broker's state as members see it, without what changes by itself (presence, times). Taken
 *  from the live broker after the script and again after a clean restart: any difference is state
 *  the broker held only in memory. */
export type Views = {
  members: { memberId: string; role: string; revoked: boolean; banned: boolean }[];
  invites: { inviteId: string; usedCount: number; revoked: boolean }[];
  topics: { name: string; members: number; lastOffset: number }[];
  topicTexts: string[];
  /** Grants carol gave. */
  grants: { peer: string; caps: Cap[] }[];
  /** Status, summary and groups of each member, by display name; `working` reads as `idle`, as a
   *  new presence starts (docs/protocol.md §2.7: it described the old process). */
  peers: Record<string, { status: string; summary: string; groups: string[] }>;
  audit: { seq: number; type: string; hash: string }[];
};

/** The online members' connections during a script. */
type Stage = { url: string; cast: Cast; a: TestPeer | null; c: TestPeer | null; dave: TestMember | null; invites: Map<string, Awaited<ReturnType<typeof createInvite>>> };

/** What a restarted broker shows, with what the recipients were pushed (before and after). */
export type Shown = Views & { bobTexts: string[]; carolTexts: string[] };

/** `holds` is given the names of every operation acknowledged, for one that a later one undoes. */
/** `holds` judges what a restart shows: `acked`, the operations answered with success; `maybe`,
 *  those and the ones whose answer was lost (a timeout, or the connection closed first: "it may or
 *  may not have taken effect"). */
type Op = { name: string; run(s: Stage): Promise<unknown>; holds?(v: Shown, s: Stage, acked: ReadonlySet<string>, maybe: ReadonlySet<string>): boolean };

/** Short timeouts: a broker that stopped answering fails the operation in seconds, and a send
 *  answered `unavailable` is not retried (the loop wants the first answer). */
export const CLIENT = { requestTimeoutMs: 3000, unavailableRetryMs: 0, reconnect: false, handshakeTimeoutMs: 3000 };

/** `who`'s connection, made now if its own operation (or an earlier reconnect) failed: a fault
 *  that refused one hello must not leave every later operation untried. */
async function peer(s: Stage, who: "a" | "c"): Promise<TestPeer> {
  return (s[who] ??= await connect(s.url, who === "a" ? s.cast.owner : s.cast.carol, {}, CLIENT));
}
const send = (from: "a" | "c", to: (s: Stage) => string, text: string): Op => ({
  name: `send ${text}`,
  run: async (s) => (await peer(s, from)).client.request("send", { to: to(s), clientMessageId: `${text}-${randomId(4)}`, ...envelope(text) }),
  holds: (v) => (text.startsWith("b") ? v.bobTexts : text.startsWith("t") ? v.topicTexts : v.carolTexts).includes(text),
});
const ackCarol = (n: number): Op => ({
  name: `carol acks ${n}`,
  run: async (s) => {
    const c = await peer(s, "c");
    const ids = c.messages.map((m) => m.messageId);
    if (ids.length === 0) return;
    await c.client.request("ack", { messageIds: ids });
  },
});
const grant = (to: (s: Stage) => string, caps: Cap[]): Op => ({
  name: `carol grants ${caps.join(",")}`,
  run: async (s) => (await peer(s, "c")).client.request("grant_set", { peer: to(s), caps }),
  holds: (v, s) => v.grants.some((g) => g.peer === to(s) && g.caps.join() === [...caps].sort().join()),
});
const newInvite = (key: string): Op => ({
  name: `invite ${key}`,
  run: async (s) => s.invites.set(key, await createInvite(s.url, s.cast.owner, {}, await peer(s, "a"))),
  holds: (v, s) => v.invites.some((i) => i.inviteId === s.invites.get(key)?.inviteId),
});

export const SCRIPT: readonly Op[] = [
  { name: "owner connects", run: (s) => peer(s, "a") },
  { name: "carol connects", run: (s) => peer(s, "c") },
  send("a", (s) => s.cast.bob.keys.publicKey, "b1"),
  send("a", (s) => s.cast.carol.keys.publicKey, "c1"),
  send("a", (s) => s.cast.bob.keys.publicKey, "b2"),
  send("a", (s) => s.cast.carol.keys.publicKey, "c2"),
  ackCarol(1),
  { name: "owner dnd", run: async (s) => (await peer(s, "a")).client.request("set_status", { status: "dnd" }), holds: (v) => v.peers.owner?.status === "dnd" },
  { name: "carol dnd", run: async (s) => (await peer(s, "c")).client.request("set_status", { status: "dnd" }), holds: (v, _, _acked, maybe) => v.peers.carol?.status === "dnd" || maybe.has("carol idle") },
  { name: "carol summary", run: async (s) => (await peer(s, "c")).client.request("set_summary", { summary: "reviewing" }), holds: (v) => v.peers.carol?.summary === "reviewing" },
  { name: "topic create", run: async (s) => (await peer(s, "a")).client.request("topic_create", { name: "ops" }), holds: (v) => v.topics.some((t) => t.name === "ops") },
  { name: "carol joins topic", run: async (s) => (await peer(s, "c")).client.request("topic_join", { topic: "ops" }), holds: (v) => (v.topics.find((t) => t.name === "ops")?.members ?? 0) >= 2 },
  send("a", () => "#ops", "t1"),
  grant((s) => s.cast.owner.keys.publicKey, ["dm", "group", "topic", "broadcast"]),
  newInvite("dave"),
  {
    name: "dave claims",
    run: async (s) => {
      const inv = s.invites.get("dave");
      if (!inv) throw new Error("no invite");
      const keys = generateSigningKeypair();
      const r = await claimInvite(s.url, { inviteId: inv.inviteId, meshId: inv.meshId, inviteKeys: inv.inviteKeys, joiner: keys, displayName: "dave" }, 3000);
      s.dave = { meshId: inv.meshId, memberId: r.member.memberId, keys, displayName: "dave", role: r.member.role };
    },
    holds: (v, s) => v.members.some((m) => m.memberId === s.dave?.memberId),
  },
  send("a", (s) => s.cast.bob.keys.publicKey, "b3"),
  send("a", (s) => s.cast.carol.keys.publicKey, "c3"),
  { name: "owner joins @devs", run: async (s) => (await peer(s, "a")).client.request("group_join", { group: "devs" }), holds: (v) => v.peers.owner?.groups.includes("devs") ?? false },
  { name: "carol joins @devs", run: async (s) => (await peer(s, "c")).client.request("group_join", { group: "devs" }), holds: (v) => v.peers.carol?.groups.includes("devs") ?? false },
  // To carol only if her join was acknowledged (if not, she may or may not be in the group).
  { ...send("a", () => "@devs", "c4-group"), holds: (v, _, acked) => v.carolTexts.includes("c4-group") || !acked.has("carol joins @devs") },
  ackCarol(2),
  newInvite("spare"),
  {
    name: "invite revoke",
    run: async (s) => (await peer(s, "a")).client.request("invite_revoke", { inviteId: s.invites.get("spare")?.inviteId ?? "none" }),
    holds: (v, s) => v.invites.find((i) => i.inviteId === s.invites.get("spare")?.inviteId)?.revoked === true,
  },
  send("a", () => "#ops", "t2"),
  grant((s) => s.cast.bob.keys.publicKey, ["dm"]),
  {
    name: "dave removed",
    run: async (s) => (await peer(s, "a")).client.request("member_revoke", { memberId: s.dave?.memberId ?? "none", ban: false, reason: "test" }),
    holds: (v, s) => v.members.find((m) => m.memberId === s.dave?.memberId)?.revoked === true,
  },
  send("a", (s) => s.cast.bob.keys.publicKey, "b4"),
  send("a", (s) => s.cast.carol.keys.publicKey, "c5"),
  { name: "carol idle", run: async (s) => (await peer(s, "c")).client.request("set_status", { status: "idle" }), holds: (v) => v.peers.carol?.status === "idle" },
  send("a", () => "*", "c6-broadcast"),
  send("c", (s) => s.cast.bob.keys.publicKey, "b5"),
  ackCarol(3),
  { name: "owner summary", run: async (s) => (await peer(s, "a")).client.request("set_summary", { summary: "deploying" }), holds: (v) => v.peers.owner?.summary === "deploying" },
  send("a", (s) => s.cast.bob.keys.publicKey, "b6"),
  send("a", () => "#ops", "t3"),
  send("a", (s) => s.cast.carol.keys.publicKey, "c7"),
  ackCarol(4),
];

/** Runs SCRIPT against `url`; an operation that fails does not stop it (the next may succeed,
 *  and must then be kept), except that once `gone()` says the broker ended, the rest are not run. */
export async function runScript(url: string, cast: Cast, gone: () => boolean): Promise<{ outcomes: Outcome[]; stage: Stage }> {
  const stage: Stage = { url, cast, a: null, c: null, dave: null, invites: new Map() };
  const outcomes: Outcome[] = [];
  for (const op of SCRIPT) {
    if (gone()) break;
    try {
      await op.run(stage);
      outcomes.push({ op: op.name, ok: true });
    } catch (e) {
      const err = e as Error & { code?: string };
      outcomes.push({ op: op.name, ok: false, error: `${err.code ?? err.name}: ${err.message}` });
    }
  }
  return { outcomes, stage };
}

/** The Views as `a` (the owner) and `c` (carol) see them. */
export async function takeViews(a: TestPeer, c: TestPeer): Promise<Views> {
  const ask = a.client.request.bind(a.client);
  const members = (await ask("member_list", {})).members.map((m) => ({ memberId: m.memberId, role: m.role, revoked: m.revokedAt !== null, banned: m.banned }));
  const invites = (await ask("invite_list", {})).invites.map((i) => ({ inviteId: i.inviteId, usedCount: i.usedCount, revoked: i.revokedAt !== null }));
  const topics = (await ask("topic_list", {})).topics.map((t) => ({ name: t.name, members: t.members, lastOffset: t.lastOffset }));
  const topicTexts = topics.some((t) => t.name === "ops") ? (await ask("topic_history", { topic: "ops", limit: 100 })).messages.map(textOf) : [];
  const grants = (await c.client.request("grant_list", {})).grants.map((g) => ({ peer: g.peer, caps: [...g.caps].sort() }));
  const peers = Object.fromEntries(
    (await ask("list_peers", {})).peers.filter((p) => p.kind === "member").map((p) => [p.displayName, { status: p.status === "working" ? "idle" : p.status, summary: p.summary, groups: [...p.groups].sort() }]),
  );
  const audit: Views["audit"] = [];
  for (;;) {
    const { entries } = await ask("audit_log", { afterSeq: audit.at(-1)?.seq ?? 0, limit: 500 });
    audit.push(...entries.map((e) => ({ seq: e.seq, type: e.eventType, hash: e.hash })));
    if (entries.length < 500) break;
  }
  const byKey = <T>(k: (x: T) => string) => (x: T, y: T) => k(x).localeCompare(k(y));
  return {
    members: members.sort(byKey((m) => m.memberId)),
    invites: invites.sort(byKey((i) => i.inviteId)),
    topics: topics.sort(byKey((t) => t.name)),
    topicTexts,
    grants: grants.sort(byKey((g) => g.peer)),
    peers,
    audit,
  };
}
