// A broker that lists a key of its own under a member's name does not get the direct messages sent
// to that name: the CLI and the MCP server encrypt a DM only to a key they can trace to the mesh
// owner's signatures (a member's admission evidence, a session's attestation by such a member).
// The broker here is real; its list handlers are wrapped to lie as a modified broker would, and its
// lookups (protocol §4.3.28-29), which clients read first, answer with those lists.
import { afterEach, describe, expect, test } from "bun:test";
import { HANDLERS } from "../../src/broker/handlers/index.ts";
import { makeAttestation } from "../../src/client/credentials.ts";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";
import type { PeerInfo } from "../../src/protocol/results.ts";
import { NAME_RULE } from "../../src/protocol/name-compare.ts";
import type { TestBroker } from "../helpers/broker.ts";
import { cli, cliTeam, ok } from "../helpers/cli.ts";
import { startMcp, waitPeer } from "../helpers/mcp.ts";

const real = { list_peers: HANDLERS.list_peers, member_list: HANDLERS.member_list, peer_lookup: HANDLERS.peer_lookup, member_lookup: HANDLERS.member_lookup };
afterEach(() => Object.assign(HANDLERS, real));

/** The lookups tell the lists' lies: each answers with its (wrapped) list whole, which a client
 *  then judges as it judges the lists. */
function liesInLookupsToo() {
  HANDLERS.peer_lookup = async (ctx, conn) => ({ peers: (await HANDLERS.list_peers(ctx, conn, { type: "list_peers", id: "lie" })).peers, complete: true, nameRule: NAME_RULE });
  HANDLERS.member_lookup = async (ctx, conn) => ({ members: (await HANDLERS.member_list(ctx, conn, { type: "member_list", id: "lie" })).members, claims: [] });
}

const evil = generateSigningKeypair();

/** The broker's member and peer lists show `evil` where `victim`'s key is. */
function swapKey(victim: string) {
  const swap = (k: string) => (k === victim ? evil.publicKey : k);
  HANDLERS.list_peers = async (...a) => ({ peers: (await real.list_peers(...a)).peers.map((p) => ({ ...p, pubkey: swap(p.pubkey), memberPubkey: swap(p.memberPubkey) })) });
  HANDLERS.member_list = async (...a) => ({ members: (await real.member_list(...a)).members.map((m) => ({ ...m, pubkey: swap(m.pubkey) })) });
  liesInLookupsToo();
}

/** The broker's peer list shows a session `name` of `member` with evil's key, attested by `signer`. */
function madeUpSession(name: string, member: { pubkey: string; memberId: string }, signer = evil) {
  const attestation = makeAttestation(signer, evil.publicKey, Date.now() + 3_600_000);
  const fake: PeerInfo = { pubkey: evil.publicKey, kind: "session", memberId: member.memberId, memberPubkey: member.pubkey, displayName: name, online: true, status: "idle", summary: "", cwd: "/work/projects/app", hostname: "h", connectedAt: Date.now(), lastSeenAt: Date.now(), groups: [], attestation: { ...attestation, parentMemberPubkey: member.pubkey } };
  HANDLERS.list_peers = async (...a) => ({ peers: [...(await real.list_peers(...a)).peers, fake] });
  liesInLookupsToo();
}

/** Counts the send frames the broker receives (each starts with a de-duplication lookup). */
function countSends(b: TestBroker): () => number {
  let n = 0;
  const store = b.ctx.store;
  const findSent = store.findSent.bind(store);
  store.findSent = (...a) => (n++, findSent(...a));
  return () => n;
}

describe("a DM is encrypted only to a key traced to the owner's signatures", () => {
  test("CLI: a member key swapped in the broker's lists, or a session it made up, is refused before anything is sent", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { dirs: [alice, bob], mesh } = team;
    const sends = countSends(team.b);
    swapKey(mesh.members.bob!.pubkey);
    const swapped = await cli(alice, ["send", "bob", "for bob only"]);
    expect({ code: swapped.code, stderr: swapped.stderr }).toEqual({ code: 3, stderr: expect.stringContaining('Not sent: the enrolment of "bob"') });
    expect(swapped.stderr).toContain("so that the broker cannot list a key of its own under a member's name");
    Object.assign(HANDLERS, real);
    madeUpSession("bob/app", mesh.members.bob!);
    const madeUp = await cli(alice, ["send", "bob/app", "for bob's session"]);
    expect({ code: madeUp.code, stderr: madeUp.stderr }).toEqual({ code: 3, stderr: expect.stringContaining('Not sent: the session "bob/app"') });
    expect(madeUp.stderr).toContain("does not verify");
    expect(sends()).toBe(0);
    // The honest lists: the same command goes through, and bob reads it.
    Object.assign(HANDLERS, real);
    ok(await cli(alice, ["send", "bob", "for bob only"]));
    expect(sends()).toBe(1);
    expect(ok(await cli(bob, ["inbox", "--json"])).json().messages.map((m: { body: string }) => m.body)).toEqual(["for bob only"]);
  }, 60_000);

  test("CLI: a member the owner removed, listed again under another member's name, is refused; the sent line shows the key", async () => {
    await using team = await cliTeam(["alice", "bob", "mallory"]);
    const { dirs: [alice], mesh } = team;
    ok(await cli(alice, ["kick", "mallory"]));
    const sends = countSends(team.b);
    const mallory = mesh.members.mallory!;
    const bob = mesh.members.bob!;
    // The broker shows mallory's real key, active again, as "bob", and hides bob.
    HANDLERS.member_list = async (...a) => ({
      members: (await real.member_list(...a)).members.filter((m) => m.pubkey !== bob.pubkey).map((m) => (m.pubkey === mallory.pubkey ? { ...m, displayName: "bob", revokedAt: null, revokedReason: null } : m)),
    });
    HANDLERS.list_peers = async (...a) => {
      const peers = (await real.list_peers(...a)).peers.filter((p) => p.memberPubkey !== bob.pubkey);
      const me = peers.find((p) => p.pubkey === mesh.members.alice!.pubkey)!;
      return { peers: [...peers, { ...me, pubkey: mallory.pubkey, memberPubkey: mallory.pubkey, memberId: mallory.memberId, displayName: "bob", online: true }] };
    };
    liesInLookupsToo();
    const r = await cli(alice, ["send", "bob", "the door code is 5512"]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 3, stderr: expect.stringContaining(`Not sent: ${mallory.pubkey.slice(0, 12)} belongs to a member you removed`) });
    expect(sends()).toBe(0);
    Object.assign(HANDLERS, real);
    const sent = ok(await cli(alice, ["send", "bob", "hello"]));
    expect(sent.stdout).toStartWith(`Sent to "bob" (${bob.pubkey.slice(0, 12)}).`);
  }, 60_000);

  test("rekey checks the member list once, not again for each member it sends the key to", async () => {
    await using team = await cliTeam(["alice", "bob", "carol", "dave"]);
    const calls = { member_list: 0, list_peers: 0 };
    HANDLERS.member_list = async (...a) => (calls.member_list++, real.member_list(...a));
    HANDLERS.list_peers = async (...a) => (calls.list_peers++, real.list_peers(...a));
    const r = ok(await cli(team.dirs[0], ["rekey", "--json"])).json();
    expect({ sentTo: r.sentTo, calls }).toEqual({ sentTo: 3, calls: { member_list: 1, list_peers: 0 } });
  }, 60_000);

  test("MCP: mesh_send to a session the broker made up is refused; a real session's attestation is accepted", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { dirs: [alice, bob], mesh } = team;
    await using a = await startMcp(alice, "trust-alice");
    await using bb = await startMcp(bob, "trust-bob");
    await bb.call("mesh_peers"); // bob's session is in use, as from its SessionStart hook
    await waitPeer(a, "bob/app");
    const sends = countSends(team.b);
    // Signed by bob's key for another session key would not do either; here the broker signs.
    madeUpSession("bob/evil", mesh.members.bob!);
    const refused = await a.call("mesh_send", { to: "bob/evil", message: "secret" });
    expect(refused.isError).toBe(true);
    expect(refused.text).toContain('Not sent: the session "bob/evil"');
    expect(sends()).toBe(0);
    Object.assign(HANDLERS, real);
    expect(await a.call("mesh_send", { to: "bob/app", message: "to the real session" })).toMatchObject({ isError: false });
    await bb.waitNotification((n) => n.content.includes("to the real session"));
    await a.close();
    await bb.close();
  }, 60_000);
});
