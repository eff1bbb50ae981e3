// peer_lookup answered from the roster's index of compared names (src/broker/name-index.ts) gives,
// after every change the roster is patched for, exactly the rows docs/protocol.md §4.3.28 names
// among those list_peers lists then, in its order: a new member, a new session, a session that says
// hello again under another name, a session that ends, a member that leaves or is removed, and a
// name that list_peers shows from the live connection while the stored row says another.
import { describe, expect, test } from "bun:test";
import { generateSigningKeypair, type SigningKeypair } from "../../src/crypto/sign.ts";
import { MIN_KEY_PREFIX, nameSkeleton } from "../../src/protocol/name-compare.ts";
import type { PeerInfo } from "../../src/protocol/results.ts";
import { nameIndexLimit, type Roster } from "../../src/broker/roster.ts";
import { startBroker } from "../helpers/broker.ts";
import { connect, createInvite, createTestMesh, joinWithInvite, type TestMember, type TestPeer } from "../helpers/mesh.ts";

/** §4.3.28 over the whole list: the keys of the peers `text` names, in list_peers' order. */
function named(peers: readonly PeerInfo[], text: string): string[] {
  const t = text.trim();
  const lower = t.toLowerCase();
  const key = nameSkeleton(t);
  const prefix = lower.length >= MIN_KEY_PREFIX && /^[0-9a-f]+$/.test(lower);
  const exact = peers.filter((p) => p.pubkey === lower || (prefix && p.pubkey.startsWith(lower)) || (key !== "" && nameSkeleton(p.displayName) === key));
  if (exact.length > 0 || key === "") return exact.map((p) => p.pubkey);
  return peers.filter((p) => nameSkeleton(p.displayName).startsWith(key)).map((p) => p.pubkey);
}

/** A session of `m` under `name`, with its own key (or `keys`, to say hello again). */
const sessionOf = (url: string, m: TestMember, name: string, keys: SigningKeypair = generateSigningKeypair()) =>
  connect(url, m, { displayName: name }, { credentials: { kind: "session", meshId: m.meshId, memberId: m.memberId, memberKeys: m.keys, sessionKeys: keys }, reconnect: false });

describe("peer_lookup from the name index", () => {
  test("agrees with list_peers after new members and sessions, renames, ends, leaves and removals", async () => {
    await using b = await startBroker({ presenceGrace: 0 });
    const { owner } = await createTestMesh(b.url);
    const inv = await createInvite(b.url, owner, { maxUses: 12 });
    const [bob, carol, eve, erin] = await Promise.all(["bob", "carol", "eve", "erin", "davey"].map((n) => joinWithInvite(b.url, inv, n)));
    const o = await connect(b.url, owner);
    // Every name below is the start of another: a name found only by its start (the second tier)
    // is found with these too, so an index that misses a name changes the answer.
    const longer = await Promise.all(([[bob, "bob/apple"], [bob, "bob/webby"], [bob, "bob/twins"], [erin, "erin/apple"], [erin, "erin/newer"]] as const).map(([m, n]) => sessionOf(b.url, m!, n)));
    const texts = ["owner", "bob/twin", "bob", "BOB", " bob ", "bob/app", "bob/web", "bob/", "bo", "carol", "dave", "eve", "erin/app", "erin/new", "erin", "zed"];
    /** Each text's lookup, beside what the whole list says it names. */
    const check = async (step: string) => {
      const { peers } = await o.client.request("list_peers", {});
      const all = [...texts, ...peers.map((p) => p.pubkey), ...peers.map((p) => p.pubkey.slice(0, 8))];
      const got: Record<string, string[]> = {};
      const want: Record<string, string[]> = {};
      for (const text of all) {
        got[text] = (await o.client.request("peer_lookup", { text })).peers.map((p) => p.pubkey);
        want[text] = named(peers, text);
      }
      expect({ step, got }).toEqual({ step, got: want });
      return peers.map((p) => p.displayName);
    };
    await check("start");

    const bobKeys = generateSigningKeypair();
    let bobApp: TestPeer = await sessionOf(b.url, bob!, "bob/app", bobKeys);
    expect(await check("a new session")).toContain("bob/app");
    bobApp.close();
    await o.waitEvent((e) => e.event === "peer_left" && e.data.pubkey === bobKeys.publicKey);
    bobApp = await sessionOf(b.url, bob!, "bob/web", bobKeys);
    expect(await check("the session said hello again under another name")).toContain("bob/web");
    // Two sessions of one name; the first says hello again, and comes after the second in list_peers.
    const twinKeys = generateSigningKeypair();
    let twin = await sessionOf(b.url, bob!, "bob/twin", twinKeys);
    const other = await sessionOf(b.url, bob!, "bob/twin");
    twin.close();
    await o.waitEvent((e) => e.event === "peer_left" && e.data.pubkey === twinKeys.publicKey);
    twin = await sessionOf(b.url, bob!, "bob/twin", twinKeys);
    expect((await check("a session back after another of its name")).filter((n) => n === "bob/twin")).toHaveLength(2);
    const dave = await joinWithInvite(b.url, inv, "dave");
    expect(await check("a new member")).toContain(dave.displayName);
    await bobApp.client.request("session_end", {});
    expect(await check("the session ended")).not.toContain("bob/web");
    const c = await connect(b.url, carol!);
    await c.client.request("leave", {});
    await o.client.request("member_revoke", { memberId: eve!.memberId, ban: false });
    const left = await check("one member left, another was removed");
    expect({ carol: left.includes("carol"), eve: left.includes("eve") }).toEqual({ carol: false, eve: false });

    // A session hello stores its row before the connection is attached; one refused after that
    // (its socket gone meanwhile) leaves the stored name new and the live one old. list_peers shows
    // the live one, and so must the lookup.
    const erinKeys = generateSigningKeypair();
    const erinApp = await sessionOf(b.url, erin!, "erin/app", erinKeys);
    const row = await b.ctx.store.upsertSession({ meshId: erin!.meshId, pubkey: erinKeys.publicKey, memberId: erin!.memberId, displayName: "erin/new", cwd: "/", hostname: "h", lastSeenAt: Date.now(), attestation: null });
    b.ctx.roster.putSession(erin!.meshId, row);
    expect(await check("a stored name the live connection does not go by")).toContain("erin/app");
    b.ctx.roster.invalidate(erin!.meshId);
    expect(await check("the same, from a roster loaded again")).toContain("erin/app");
    for (const p of [erinApp, twin, other, ...longer]) p.close();
    await o.waitEvent((e) => e.event === "peer_left" && e.data.pubkey === erinKeys.publicKey);
    expect(await check("the live connection gone: the stored name")).toContain("erin/new");
    o.close();
  }, 60_000);

  // Names are never taken out of the index (stale ones are filtered at each lookup), and only a
  // lookup looked at its size: a session saying hello under a new name each time, with no lookup
  // in the mesh between, grew it by one entry a hello (3,001 entries for a roster of 2 rows after
  // 3,000 hellos), for as long as nothing in the mesh read its roster again.
  test("a session that says hello under new names, no lookup between, keeps the index within its bound", async () => {
    await using b = await startBroker({ presenceGrace: 0 });
    const { owner } = await createTestMesh(b.url);
    const o = await connect(b.url, owner);
    await o.client.request("peer_lookup", { text: "owner" });
    const keys = generateSigningKeypair();
    for (let i = 0; i < 400; i++) (await sessionOf(b.url, owner, `owner/name-${i}`, keys)).close();
    // The roster cache's entry, read directly: its index's size is not visible on the wire.
    const roster = (b.ctx.roster as unknown as { meshes: Map<string, Roster> }).meshes.get(owner.meshId)!;
    expect({ rows: roster.members.size + roster.sessions.size, indexed: (roster.names?.size ?? 0) <= nameIndexLimit(roster) }).toEqual({ rows: 2, indexed: true });
    const found = async (text: string) => (await o.client.request("peer_lookup", { text })).peers.map((p) => p.pubkey);
    expect({ now: await found("owner/name-399"), before: await found("owner/name-0") }).toEqual({ now: [keys.publicKey], before: [] });
    o.close();
  }, 60_000);
});
