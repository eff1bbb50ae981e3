// A broker that lies in its lookups (docs/protocol.md §4.3.28–29; the trust model of
// docs/security.md) gets no direct message encrypted to a key the sender cannot trace to the mesh
// owner's signatures, and no pick of a peer that the same lie in `list_peers` would not give: the
// lookups are read before the lists, so each lie here is told in them alone, the lists honest.
// Real broker on port 0; its lookup handlers are wrapped to lie (as recipient-trust.test.ts wraps
// the lists); the CLI as a subprocess, or the client library in process.
import { afterEach, describe, expect, test } from "bun:test";
import { HANDLERS } from "../../src/broker/handlers/index.ts";
import { makeAttestation } from "../../src/client/credentials.ts";
import { MeshSession } from "../../src/client/mesh-session.ts";
import { resolveNarrowly } from "../../src/client/lookups.ts";
import { resolveTarget } from "../../src/client/resolve.ts";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";
import { NAME_RULE } from "../../src/protocol/name-compare.ts";
import type { PeerInfo } from "../../src/protocol/results.ts";
import { startBroker, storedName } from "../helpers/broker.ts";
import { cli, cliTeam } from "../helpers/cli.ts";
import { connect, createInvite, createTestMesh, joinWithInvite, type TestMember } from "../helpers/mesh.ts";
import { madeUpRow } from "../helpers/made-up-row.ts";
import { overClaimedInvite } from "../helpers/over-claimed.ts";
import { requestsHandled } from "../helpers/requests-handled.ts";

const real = { peer_lookup: HANDLERS.peer_lookup, member_lookup: HANDLERS.member_lookup, list_peers: HANDLERS.list_peers };
const realListPeers = real.list_peers;
afterEach(() => Object.assign(HANDLERS, real));

const evil = generateSigningKeypair();

/** peer_lookup shows each row through `lie` (the rest of the answer kept). */
const peerLookupLies = (lie: (peers: PeerInfo[]) => PeerInfo[]) => {
  HANDLERS.peer_lookup = async (...a) => {
    const r = await real.peer_lookup(...a);
    return { ...r, peers: lie(r.peers) };
  };
};

/** `m`'s client session, the mesh's owner known to it. */
const sessionOf = (m: TestMember, ownerPubkey: string) =>
  new MeshSession({ meshId: m.meshId, publicKey: m.keys.publicKey, secretKey: m.keys.secretKey, memberPubkey: m.keys.publicKey, memberSecretKey: m.keys.secretKey, ownerPubkey }, []);
const verdict = (s: MeshSession, client: Parameters<MeshSession["vouchFor"]>[0], key: string) => s.vouchFor(client, key).then(() => "vouched", (err: Error) => err.message);

describe("lies in member_lookup and peer_lookup get no DM to a key of the broker's", () => {
  test("CLI: its own key under a name, with a chain of rows it made up for it, is refused before anything is sent", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { dirs: [alice], mesh } = team;
    const bob = mesh.members.bob!;
    const owner = mesh.members.alice!.pubkey;
    const handled = requestsHandled();
    try {
      peerLookupLies((peers) => peers.map((p) => (p.pubkey === bob.pubkey ? { ...p, pubkey: evil.publicKey, memberPubkey: evil.publicKey } : p)));
      const alone = await cli(alice, ["send", "bob", "for bob only"]);
      // The key's member rows: an admin the broker made, "invited by the owner" but signed by it.
      const admin = generateSigningKeypair();
      HANDLERS.member_lookup = async (...a) => {
        const honest = await real.member_lookup(...a);
        const ownerRow = (await real.member_lookup(a[0], a[1], { type: "member_lookup", id: "lie", pubkey: owner })).members;
        return a[2].pubkey !== evil.publicKey ? honest : { members: [madeUpRow(mesh.meshId, evil.publicKey, "member", admin, admin.publicKey), madeUpRow(mesh.meshId, admin.publicKey, "admin", admin, owner), ...ownerRow], claims: [] };
      };
      const chained = await cli(alice, ["send", "bob", "for bob only"]);
      expect([alone, chained].map((r) => ({ code: r.code, stderr: r.stderr }))).toEqual([
        { code: 3, stderr: expect.stringContaining(`Not sent: ${evil.publicKey.slice(0, 12)} is not a member or session of this mesh`) },
        { code: 3, stderr: expect.stringContaining('Not sent: the enrolment of "bob"') },
      ]);
      expect(handled.count("send")).toBe(0);
    } finally {
      handled[Symbol.dispose]();
    }
  }, 60_000);

  test("CLI: a session whose attestation names no key is no evidence: the whole list decides, and the same lie there is refused as a malformed answer, not a request of the CLI's", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { dirs: [alice], mesh } = team;
    const bob = mesh.members.bob!;
    const attestation = { ...makeAttestation(evil, evil.publicKey, Date.now() + 3_600_000), parentMemberPubkey: "not a key" };
    const lie = (peers: PeerInfo[]) => peers.map((p) => (p.pubkey === bob.pubkey ? { ...p, kind: "session" as const, pubkey: evil.publicKey, attestation } : p));
    peerLookupLies(lie);
    const lookupAlone = await cli(alice, ["send", "bob", "for bob only"]);
    HANDLERS.list_peers = async (...a) => ({ peers: lie((await realListPeers(...a)).peers) });
    const both = await cli(alice, ["send", "bob", "for bob only"]);
    // Over the lookup alone: sent to bob's own key, which the honest list gives.
    expect([lookupAlone, both].map((r) => ({ code: r.code, said: r.stdout.split(".")[0] + r.stderr }))).toEqual([
      { code: 0, said: `Sent to "bob" (${bob.pubkey.slice(0, 12)})` },
      { code: 6, said: expect.stringContaining("sent a malformed list_peers answer: /peers/1/attestation/parentMemberPubkey should be 32-byte key, lowercase hex, not a string of 9 characters") },
    ]);
  }, 60_000);

  test("CLI: answers that are not lists (members, claims, peers) are not read as evidence: the whole lists are, and decide", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { dirs: [alice], mesh } = team;
    const bob = mesh.members.bob!;
    const said: string[] = [];
    for (const lie of [{ claims: null }, { members: null }, { claims: [null] }, { members: "bob" }]) {
      HANDLERS.member_lookup = async (...a) => ({ ...(await real.member_lookup(...a)), ...(lie as object) });
      const r = await cli(alice, ["send", bob.pubkey.slice(0, 12), `to bob`]);
      said.push(`${r.code} ${r.stdout.split(".")[0]}${r.stderr}`);
    }
    Object.assign(HANDLERS, real);
    peerLookupLies(() => "bob" as never);
    const r = await cli(alice, ["send", bob.pubkey, `to bob`]);
    said.push(`${r.code} ${r.stdout.split(".")[0]}${r.stderr}`);
    expect(said).toEqual(Array(5).fill(`0 Sent to "bob" (${bob.pubkey.slice(0, 12)})`));
  }, 60_000);

  test("claims counted below the rows the answer shows refuse as the rows do", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const { inv, first, second } = await overClaimedInvite(b, owner);
    const o = await connect(b.url, owner);
    const row = async (key: string) => (await real.member_lookup(b.ctx, [...b.ctx.hub.allConns()][0]!, { type: "member_lookup", id: "x", pubkey: key })).members[0]!;
    const both = [await row(first.keys.publicKey), await row(second.keys.publicKey)];
    const verdicts: string[] = [];
    for (const claimed of [0, -5, null as unknown as number]) {
      HANDLERS.member_lookup = async (...a) => {
        const r = await real.member_lookup(...a);
        return { members: [...both, ...r.members.slice(1)], claims: [{ inviteId: inv.inviteId, claimed }] };
      };
      verdicts.push(await verdict(sessionOf(owner, owner.keys.publicKey), o.client, first.keys.publicKey));
    }
    for (const v of verdicts) expect(v).toContain(`one of 2 members the broker shows enrolled through invite ${inv.inviteId}`);
    o.close();
  }, 60_000);
});

describe("lies in peer_lookup pick no peer that the same lie in list_peers would not", () => {
  test("hidden or added rows settle as the whole list with that lie does; answers not complete or by another rule are not taken", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const inv = await createInvite(b.url, owner, { maxUses: 5 });
    const alice = await joinWithInvite(b.url, inv, "alice");
    const lookalike = await joinWithInvite(b.url, inv, "alicia");
    await joinWithInvite(b.url, inv, "bob");
    storedName(b, owner.meshId, lookalike.memberId, "\u0430lice"); // Cyrillic а
    const o = await connect(b.url, owner);
    const { peers } = await o.client.request("list_peers", {});
    const made: PeerInfo = { ...peers.find((p) => p.pubkey === alice.keys.publicKey)!, pubkey: evil.publicKey, memberPubkey: evil.publicKey, displayName: "alice" };
    const lies: Record<string, (p: PeerInfo[]) => PeerInfo[]> = {
      "hides the genuine alice": (p) => p.filter((x) => x.pubkey !== alice.keys.publicKey),
      "hides the look-alike": (p) => p.filter((x) => x.pubkey !== lookalike.keys.publicKey),
      "adds a row of its own": (p) => [...p, made],
      "shows only a row of its own": () => [made],
      "shows nobody": () => [],
    };
    const outcome = (run: () => { target: string }) => {
      try {
        return run().target;
      } catch {
        return "refused";
      }
    };
    const said: Record<string, string> = {};
    const want: Record<string, string> = {};
    for (const [name, lie] of Object.entries(lies)) {
      peerLookupLies(lie);
      for (const text of ["alice", "ALICE", "ali", "bob"]) {
        // Settled over the lie: what list_peers telling the same lie would settle on. Not settled:
        // left to the real list_peers, read after it.
        const narrow = await resolveNarrowly(o.client, text, (p) => resolveTarget(text, p, owner.keys.publicKey));
        const overLie = outcome(() => resolveTarget(text, lie(peers), owner.keys.publicKey));
        said[`${name}: ${text}`] = narrow ? narrow.target : "whole list";
        want[`${name}: ${text}`] = overLie === "refused" ? "whole list" : overLie;
      }
    }
    expect(said).toEqual(want);
    // Not complete, or made by another name rule: never taken, however it would settle.
    let asked = 0;
    for (const answer of [{ complete: false, nameRule: NAME_RULE }, { complete: true, nameRule: NAME_RULE + 1 }, { complete: true, nameRule: undefined }]) {
      HANDLERS.peer_lookup = async (...a) => (asked++, { ...(await real.peer_lookup(...a)), peers: [made], ...(answer as { complete: boolean; nameRule: number }) });
      expect(await resolveNarrowly(o.client, "alice", (p) => resolveTarget("alice", p, owner.keys.publicKey))).toBeNull();
    }
    expect(asked).toBe(3);
    o.close();
  }, 60_000);
});
