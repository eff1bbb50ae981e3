// peer_lookup and member_lookup (docs/protocol.md §4.3.28–29) against a real broker, through the
// client library: every typed target resolves over the short answer to what it resolves to over
// the whole list_peers, or is left to the whole list; vouching for a key over member_lookup's rows
// reaches the verdict the whole member_list gives, refusals included; and a broker from before
// the lookups is met with the whole lists, asked once per connection.
import { describe, expect, test } from "bun:test";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";
import { MeshSession } from "../../src/client/mesh-session.ts";
import { resolveNarrowly } from "../../src/client/lookups.ts";
import { namesPeer, resolveTarget } from "../../src/client/resolve.ts";
import type { PeerInfo } from "../../src/protocol/results.ts";
import { MAX_LOOKUP_PEERS } from "../../src/protocol/limits.ts";
import { startBroker, storedName, storedSessionName } from "../helpers/broker.ts";
import { connect, createInvite, createTestMesh, joinWithInvite, type TestMember } from "../helpers/mesh.ts";
import { brokerWithoutLookups } from "../helpers/older-broker.ts";
import { overClaimedInvite } from "../helpers/over-claimed.ts";
import { requestsHandled } from "../helpers/requests-handled.ts";

/** What resolving gives, said comparably: the target and the peer's key, or the refusal. */
function outcome(run: () => { target: string; peer: PeerInfo | null }): string {
  try {
    const r = run();
    return `${r.target} ${r.peer?.pubkey ?? "-"} ${r.peer?.displayName ?? "-"}`;
  } catch (err) {
    return `refused: ${(err as Error).message}`;
  }
}

/** A session of member `m` named `name`, connected. */
const sessionNamed = (url: string, m: TestMember, name: string, sessionKeys = generateSigningKeypair()) =>
  connect(url, m, { displayName: name }, { credentials: { kind: "session", meshId: m.meshId, memberId: m.memberId, memberKeys: m.keys, sessionKeys } });

describe("peer_lookup", () => {
  test("every typed target resolves over the answer as over the whole list, or is left to the whole list", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const inv = await createInvite(b.url, owner, { maxUses: 20 });
    // Session 39: "a1ice" and "b0b" only look like alice and bob (digits): never a match alone.
    const names = ["alice", "bob", "bobby", "Carol", "dave", "José", "Jose\u0301", "abcdef12", "eve", "frank", "a1ice", "b0b"];
    const m = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await joinWithInvite(b.url, inv, n)] as const)));
    // Cyrillic "саrol" as an older broker stored it, dave's sessions (one offline), eve's and a
    // member named like eve's session, and the owner's session named like another member.
    storedName(b, owner.meshId, m.frank!.memberId, "\u0441\u0430rol");
    const ownerSession = generateSigningKeypair();
    const sessions = [await sessionNamed(b.url, m.dave!, "dave/app"), await sessionNamed(b.url, m.dave!, "dave/web"), await sessionNamed(b.url, m.eve!, "eve/app"), await sessionNamed(b.url, owner, "owner/x", ownerSession)];
    sessions[1]!.close();
    // Named like another member, as an older broker let a session be (today's refuses it).
    storedSessionName(b, owner.meshId, ownerSession.publicKey, "bob");
    storedName(b, owner.meshId, m.alice!.memberId, "eve/app");
    const o = await connect(b.url, owner);
    const { peers } = await o.client.request("list_peers", {});
    const keys = peers.map((p) => p.pubkey);
    const inputs = [
      ...names, ...names.map((n) => n.toUpperCase()), "bo", "b", "car", "carol", "jos", "d", "da", "dave/", "dave/app", "dave/web", "eve/app", "eve", "zed", "  bob  ", "ABCDEF12", "abcdef",
      "owner", "ow", "c\u200barol", "ｃａｒｏｌ", "\u200b", "aIice", "a!ice", "8ob", "b0", "rnallory", ...keys, ...keys.map((k) => k.slice(0, 6)), ...keys.map((k) => k.slice(0, 12).toUpperCase()), keys[0]!.slice(0, 5),
    ];
    let narrowed = 0;
    for (const self of [owner.keys.publicKey, null]) {
      for (const input of inputs.filter(namesPeer)) {
        const whole = outcome(() => resolveTarget(input, peers, self));
        const narrow = await resolveNarrowly(o.client, input, (p) => resolveTarget(input, p, self));
        // Settled over the answer: the same peer. Refused over the whole list: left to it.
        const said = narrow === null ? (whole.startsWith("refused") ? whole : "not settled") : outcome(() => narrow);
        expect({ input, self, said }).toEqual({ input, self, said: whole });
        if (narrow) narrowed++;
      }
    }
    expect(narrowed).toBeGreaterThan(80);
    for (const s of sessions) s.close();
    o.close();
  }, 60_000);

  test(`more than ${MAX_LOOKUP_PEERS} matches: the answer is not complete, and the name is resolved from the whole list`, async () => {
    // All of them claim from this one address: more than the default claim allowance (50 at once).
    await using b = await startBroker({ claimBurst: MAX_LOOKUP_PEERS + 1 });
    const { owner } = await createTestMesh(b.url);
    const inv = await createInvite(b.url, owner, { maxUses: MAX_LOOKUP_PEERS + 1 });
    for (let i = 0; i <= MAX_LOOKUP_PEERS; i += 20) await Promise.all(Array.from({ length: Math.min(20, MAX_LOOKUP_PEERS + 1 - i) }, (_, k) => joinWithInvite(b.url, inv, `bot${i + k}`)));
    const o = await connect(b.url, owner);
    const r = await o.client.request("peer_lookup", { text: "bot" });
    expect({ listed: r.peers.length, complete: r.complete, nameRule: r.nameRule }).toEqual({ listed: MAX_LOOKUP_PEERS, complete: false, nameRule: 2 });
    expect(await resolveNarrowly(o.client, "bot", (p) => resolveTarget("bot", p))).toBeNull();
    // One that names one of them exactly is an answer of one.
    expect((await o.client.request("peer_lookup", { text: "bot17" })).peers.map((p) => p.displayName)).toEqual(["bot17"]);
    o.close();
  }, 60_000);
});

describe("member_lookup", () => {
  test("lists the member, the admin who invited it and the owner, with each invite's claims; nothing for a key of no member", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const admin = await joinWithInvite(b.url, await createInvite(b.url, owner, { role: "admin" }), "admin");
    const byAdmin = await createInvite(b.url, admin, { maxUses: 3 });
    const [carol] = [await joinWithInvite(b.url, byAdmin, "carol"), await joinWithInvite(b.url, byAdmin, "dan")];
    const o = await connect(b.url, owner);
    const { members } = await o.client.request("member_list", {});
    const row = (key: string) => members.find((x) => x.pubkey === key)!;
    const r = await o.client.request("member_lookup", { pubkey: carol!.keys.publicKey });
    expect(r).toEqual({
      members: [row(carol!.keys.publicKey), row(admin.keys.publicKey), row(owner.keys.publicKey)],
      claims: [
        { inviteId: byAdmin.inviteId, claimed: 2 },
        { inviteId: row(admin.keys.publicKey).admission!.inviteId, claimed: 1 },
      ],
    });
    expect(await o.client.request("member_lookup", { pubkey: generateSigningKeypair().publicKey })).toEqual({ members: [], claims: [] });
    o.close();
  });

  test("an enrolment through an invite used past its signed limit is refused over member_lookup as over member_list", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    // member_lookup of the first lists only its row, and counts both claims.
    const { inv, first } = await overClaimedInvite(b, owner);
    const o = await connect(b.url, owner);
    const lookup = await o.client.request("member_lookup", { pubkey: first.keys.publicKey });
    expect({ rows: lookup.members.length, claims: lookup.claims }).toEqual({ rows: 2, claims: [{ inviteId: inv.inviteId, claimed: 2 }] });
    const refusal = (s: MeshSession) => s.vouchFor(o.client, first.keys.publicKey).then(() => "vouched", (err: Error) => err.message);
    const id = { meshId: owner.meshId, publicKey: owner.keys.publicKey, secretKey: owner.keys.secretKey, memberPubkey: owner.keys.publicKey, memberSecretKey: owner.keys.secretKey, ownerPubkey: owner.keys.publicKey };
    const narrow = await refusal(new MeshSession(id, []));
    using _older = brokerWithoutLookups();
    const whole = await refusal(new MeshSession(id, []));
    expect(narrow).toContain(`one of 2 members the broker shows enrolled through invite ${inv.inviteId}, which its issuer signed for 1 use`);
    expect(narrow).toBe(whole);
    o.close();
  });
});

test("a broker without the lookups: one unknown_type per connection, then the whole lists, with the same outcome", async () => {
  await using b = await startBroker();
  const { owner } = await createTestMesh(b.url);
  const bob = await joinWithInvite(b.url, await createInvite(b.url, owner), "bob");
  const o = await connect(b.url, owner);
  using older = brokerWithoutLookups();
  using handled = requestsHandled();
  const bySession = new MeshSession({ meshId: owner.meshId, publicKey: owner.keys.publicKey, secretKey: owner.keys.secretKey, memberPubkey: owner.keys.publicKey, memberSecretKey: owner.keys.secretKey, ownerPubkey: owner.keys.publicKey }, []);
  for (const text of ["bob", "bo", "BOB"]) expect(await resolveNarrowly(o.client, text, (p) => resolveTarget(text, p))).toBeNull();
  await bySession.vouchFor(o.client, bob.keys.publicKey);
  expect({ refused: older.asked, memberList: handled.count("member_list"), listPeers: handled.count("list_peers") }).toEqual({ refused: 1, memberList: 1, listPeers: 1 });
  o.close();
});
