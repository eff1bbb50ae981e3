// Costs that must not grow with the mesh (docs/decisions.md, session 34: shapes beyond the
// benchmark). Each test counts what the broker reads from its store, or looks at, for one
// operation in a mesh bigger than the operation needs; a count, not a time, since the machine
// running the tests is shared.
import { expect, test } from "bun:test";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";
import type { Grant } from "../../src/store/types.ts";
import { startBroker, type TestBroker } from "../helpers/broker.ts";
import { connect, createInvite, createTestMesh, joinWithInvite, sendText, textOf, type TestMember } from "../helpers/mesh.ts";
import { connectSession } from "../helpers/next-session.ts";
import { storeReads } from "../helpers/store-reads.ts";

/** Members of the mesh besides its owner: more rows than any of the operations below may read. */
const MEMBERS = 60;
/** All of them (and a newcomer) claim from this one address: more than the default claim
 *  allowance (50 at once). */
const ENROL_ALL = { claimBurst: MEMBERS + 1 };

async function bigMesh(b: TestBroker) {
  const { owner } = await createTestMesh(b.url);
  const invite = await createInvite(b.url, owner, { maxUses: MEMBERS + 1 });
  const members: TestMember[] = [];
  for (let i = 0; i < MEMBERS; i += 20) members.push(...(await Promise.all(Array.from({ length: 20 }, (_, k) => joinWithInvite(b.url, invite, `m${i + k}`)))));
  return { owner, members, invite };
}

test("a session hello reads its own member's sessions, not every live session of the mesh", async () => {
  await using b = await startBroker(ENROL_ALL);
  const { owner, members } = await bigMesh(b);
  // 300 live sessions of one member, as its hellos would have stored them.
  for (let i = 0; i < 300; i++) {
    const pubkey = generateSigningKeypair().publicKey;
    await b.ctx.store.upsertSession({ meshId: owner.meshId, pubkey, memberId: members[0]!.memberId, displayName: `m0/s${i}`, cwd: "/", hostname: "h", lastSeenAt: Date.now(), attestation: null });
  }
  using reads = storeReads(b.ctx.store);
  const s = await connectSession(b.url, owner);
  // Before: the member's session limit listed the mesh's 300 sessions and kept the owner's none.
  expect(reads.rows()).toBeLessThan(10);
  s.close();
});

test("sessions that start and end, presences that go and members that join or are removed leave the roster cached", async () => {
  await using b = await startBroker({ presenceGrace: 0, ...ENROL_ALL });
  const { owner, members, invite } = await bigMesh(b);
  const alice = await connect(b.url, owner);
  const bob = await connect(b.url, members[0]!);
  const send = () => sendText(alice, members[1]!.keys.publicKey, "hi");
  await send(); // loads the roster
  using reads = storeReads(b.ctx.store);
  /** Rows the next send reads; a reload of the roster reads every member. */
  const sendReads = async () => {
    reads.reset();
    await send();
    return reads.rows();
  };
  const after: Record<string, number> = {};

  // A new session is a recipient at once (a broadcast reaches it), with no reload.
  const sessionKeys = generateSigningKeypair();
  const s = await connectSession(b.url, members[2]!, sessionKeys);
  after.sessionHello = await sendReads();
  await sendText(alice, "*", "to all");
  expect((await s.waitMessages(1))[0]!.kind).toBe("broadcast");
  // It ends: no recipient any more; its peer_left changes nothing the routing reads either.
  await s.client.request("session_end", {});
  await alice.waitEvent((e) => e.event === "peer_left" && e.data.pubkey === sessionKeys.publicKey);
  after.sessionEnd = await sendReads();
  // A presence goes away (no grace): list_peers shows it offline at once, last seen when it closed.
  const closedAt = Date.now();
  bob.close();
  await alice.waitEvent((e) => e.event === "peer_left" && e.data.pubkey === members[0]!.keys.publicKey);
  after.peerLeft = await sendReads();
  const bobRow = (await alice.client.request("list_peers", {})).peers.find((p) => p.pubkey === members[0]!.keys.publicKey)!;
  expect({ online: bobRow.online, seenSinceClose: bobRow.lastSeenAt! >= closedAt }).toEqual({ online: false, seenSinceClose: true });
  // A member joins: a recipient at once. One is removed: a DM to it is refused at once.
  const newcomer = await joinWithInvite(b.url, invite, "newcomer");
  after.joined = await sendReads();
  await sendText(alice, newcomer.keys.publicKey, "welcome");
  await alice.client.request("member_revoke", { memberId: members[3]!.memberId, ban: false });
  after.kicked = await sendReads();
  await expect(sendText(alice, members[3]!.keys.publicKey, "gone")).rejects.toMatchObject({ code: "unknown_recipient" });
  expect(after).toEqual({ sessionHello: 0, sessionEnd: 0, peerLeft: 0, joined: 0, kicked: 0 });
  const listed = (await alice.client.request("list_peers", {})).peers.map((p) => p.pubkey);
  expect({ newcomer: listed.includes(newcomer.keys.publicKey), kicked: listed.includes(members[3]!.keys.publicKey), ended: listed.includes(sessionKeys.publicKey) }).toEqual({ newcomer: true, kicked: false, ended: false });
  alice.close();
});

test("a fan-out looks at each grant row of the mesh once at most, not once per recipient", async () => {
  await using b = await startBroker(ENROL_ALL);
  const { owner, members } = await bigMesh(b);
  // Twenty members each keep an entry for the next one's key: dm only, so its broadcasts skip them.
  for (let i = 0; i < 20; i++) {
    const p = await connect(b.url, members[i]!, { receive: "pull" });
    await p.client.request("grant_set", { peer: members[i + 1]!.keys.publicKey, caps: ["dm"] });
    p.close();
  }
  // Each row the broker loads counts every look at whose row it is.
  let looks = 0;
  const meshGrants = b.ctx.store.meshGrants.bind(b.ctx.store);
  b.ctx.store.meshGrants = async (meshId) =>
    (await meshGrants(meshId)).map((g) => new Proxy(g, { get: (t, k) => (k === "recipientMemberId" && looks++, t[k as keyof Grant]) }));
  b.ctx.roster.invalidate(owner.meshId);
  const alice = await connect(b.url, owner, { receive: "pull" });
  await sendText(alice, "*", "loads the roster");
  looks = 0;
  const sent = await sendText(alice, "*", "to all");
  // Before: every recipient's lookup walked all 20 rows (61 recipients: 1,220 looks).
  expect({ looks: looks <= 20, undeliverable: sent.undeliverable }).toEqual({ looks: true, undeliverable: [] });
  // The entries still apply: member 0 gets member 1's DM (after alice's two broadcasts), and not the
  // broadcast member 1 sent before it.
  const [m0, m1] = [await connect(b.url, members[0]!), await connect(b.url, members[1]!, { receive: "pull" })];
  await sendText(m1, "*", "skips m0");
  await sendText(m1, members[0]!.keys.publicKey, "dm to m0");
  expect((await m0.waitMessages(3)).map(textOf)).toEqual(["loads the roster", "to all", "dm to m0"]);
  for (const p of [m0, m1, alice]) p.close();
});

test("a page of a topic's history reads the page, not the topic's member list", async () => {
  await using b = await startBroker(ENROL_ALL);
  const { owner } = await bigMesh(b); // every member is in #general
  const alice = await connect(b.url, owner);
  for (let i = 0; i < 3; i++) await sendText(alice, "#general", `post ${i}`);
  using reads = storeReads(b.ctx.store);
  const page = await alice.client.request("topic_history", { topic: "general", afterOffset: 0, limit: 100 });
  expect(page.messages).toHaveLength(3);
  // Before: the membership check read all 61 members of #general.
  expect(reads.rows()).toBeLessThan(10);
  alice.close();
});

test("a peer_lookup by name or key looks at the rows that match, not at every member and session of the mesh", async () => {
  await using b = await startBroker(ENROL_ALL);
  const { owner, members } = await bigMesh(b);
  const s = await connectSession(b.url, members[5]!);
  // Each row the broker loads counts the first look at it in a lookup.
  const looked = new Set<object>();
  const watched = <T extends object>(rows: T[]) => rows.map((row) => new Proxy(row, { get: (t, k) => (looked.add(t), t[k as keyof T]) }));
  const [listActiveMembers, listSessions] = [b.ctx.store.listActiveMembers.bind(b.ctx.store), b.ctx.store.listSessions.bind(b.ctx.store)];
  b.ctx.store.listActiveMembers = async (...args) => watched(await listActiveMembers(...args));
  b.ctx.store.listSessions = async (...args) => watched(await listSessions(...args));
  b.ctx.roster.invalidate(owner.meshId);
  const alice = await connect(b.url, owner);
  const lookup = async (text: string) => {
    looked.clear();
    const { peers } = await alice.client.request("peer_lookup", { text });
    return { peers: peers.map((p) => p.displayName), looked: looked.size };
  };
  await lookup("m1"); // the first after a load may read them all
  // Before: every lookup looked at all 62 rows (61 members and the session).
  expect({ byName: await lookup("M42"), byKey: await lookup(members[7]!.keys.publicKey), session: await lookup("m5/test") }).toEqual({
    byName: { peers: ["m42"], looked: 1 },
    byKey: { peers: ["m7"], looked: 1 },
    session: { peers: ["m5/test"], looked: 2 }, // the session and its member
  });
  s.close();
  alice.close();
});
