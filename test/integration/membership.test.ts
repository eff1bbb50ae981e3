// Invites, removal, grants and the audit chain over the real protocol.
import { describe, expect, test } from "bun:test";
import { brokerClock, startBroker, type TestBroker } from "../helpers/broker.ts";
import { addMember, connect, createInvite, createTestMesh, envelope, joinWithInvite, sendText, textOf } from "../helpers/mesh.ts";
import { claimInvite } from "../../src/client/http.ts";
import { helloCanonical, inviteCanonical, inviteKeyCanonical, inviteKeyCanonicalV1 } from "../../src/protocol/canonical.ts";
import { recipientDoubt, vouchedMembers } from "../../src/client/admission.ts";
import { randomId } from "../../src/crypto/hash.ts";
import { signDetached } from "../../src/crypto/sign.ts";
import { rawSocket } from "../helpers/raw.ts";
import { connectSession } from "../helpers/next-session.ts";
import { dashboardSession } from "../helpers/dashboard.ts";
import { generateSigningKeypair, type SigningKeypair } from "../../src/crypto/sign.ts";
import type { TestMember } from "../helpers/mesh.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";
import { overClaimedInvite } from "../helpers/over-claimed.ts";
import { AUDIT_RECHECK_MS } from "../../src/protocol/limits.ts";
import { verifyChain } from "../../src/protocol/audit-chain.ts";
import type { MeshError } from "../../src/protocol/errors.ts";

/** An invite_create frame by `owner`, built by hand (the helpers make only valid ones): its
 *  invite key bound to `maxUses` with `keySigner`'s signature (the owner's by default). */
function inviteFrame(owner: TestMember, maxUses: number, keySigner: SigningKeypair = owner.keys) {
  const inviteId = randomId();
  const expiresAt = Math.floor(Date.now() / 1000) + 600;
  const invitePubkey = generateSigningKeypair().publicKey;
  return {
    inviteId,
    expiresAt,
    role: "member" as const,
    maxUses,
    invitePubkey,
    signature: signDetached(inviteCanonical(owner.meshId, inviteId, expiresAt, "member", owner.keys.publicKey), owner.keys.secretKey),
    keySignature: signDetached(inviteKeyCanonical(owner.meshId, inviteId, invitePubkey, maxUses), keySigner.secretKey),
  };
}

/** `fields` sent by `owner` as an invite_create frame and to the dashboard's invite route: the
 *  frame's refusal (null if it was taken), the route's status and code, and whether either
 *  stored anything (an invite or an audit entry). */
async function refusedInvite(b: TestBroker, owner: TestMember, fields: Record<string, unknown>) {
  const db = (b.ctx.store as SqliteStore).db;
  const rows = () => JSON.stringify(db.query("SELECT (SELECT COUNT(*) FROM invites) AS invites, (SELECT COUNT(*) FROM audit_log) AS audit").get());
  const before = rows();
  const o = await connect(b.url, owner);
  const ws = await o.client.request("invite_create", fields as never).then(() => null, (e: MeshError) => e);
  o.close();
  const posted = await (await dashboardSession(b, owner))("POST", "/v1/dashboard/invites", fields);
  return { ws, http: { status: posted.status, code: (await posted.json()).error.code }, stored: rows() !== before };
}

describe("invites", () => {
  test("50 concurrent claims of an invite with maxUses 5 enroll exactly 5 members", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const inv = await createInvite(b.url, owner, { maxUses: 5 });
    const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => joinWithInvite(b.url, inv, `joiner-${i}`)));
    const ok = results.filter((r) => r.status === "fulfilled").length;
    const codes = results.filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => r.reason.code);
    expect({ ok, exhausted: codes.filter((c) => c === "invite_exhausted").length }).toEqual({ ok: 5, exhausted: 45 });
    const a = await connect(b.url, owner);
    expect((await a.client.request("member_list", {})).members.length).toBe(6);
    a.close();
  });

  test("expired, revoked and forged claims are refused and enroll nobody", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const countMembers = () => ((b.ctx.store as SqliteStore).db.query("SELECT COUNT(*) AS n FROM members").get() as { n: number }).n;
    const expired = await createInvite(b.url, owner, { expiresInS: 1 });
    brokerClock(b, 1100); // past its expiry by the broker's clock, which judges it
    await expect(joinWithInvite(b.url, expired, "late")).rejects.toMatchObject({ code: "invite_expired" });
    brokerClock(b, 0);
    const revoked = await createInvite(b.url, owner);
    const a = await connect(b.url, owner);
    await a.client.request("invite_revoke", { inviteId: revoked.inviteId });
    await expect(joinWithInvite(b.url, revoked, "x")).rejects.toMatchObject({ code: "invite_revoked" });
    const real = await createInvite(b.url, owner);
    const forged = { ...real, inviteKeys: generateSigningKeypair() };
    await expect(joinWithInvite(b.url, forged, "forger")).rejects.toMatchObject({ code: "bad_invite" });
    await expect(joinWithInvite(b.url, { ...real, inviteId: "no-such-invite" }, "x")).rejects.toMatchObject({ code: "invite_not_found" });
    expect(countMembers()).toBe(1);
    await joinWithInvite(b.url, real, "legit");
    expect(countMembers()).toBe(2);
    a.close();
  });

  test("the sealed keys blob reaches claimers and is deleted once the invite is used up", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const inv = await createInvite(b.url, owner, { maxUses: 2, keysBlob: Buffer.from("sealed-by-inviter").toString("base64") });
    expect((await joinWithInvite(b.url, inv, "one")).keysBlob).toBe(Buffer.from("sealed-by-inviter").toString("base64"));
    expect((await joinWithInvite(b.url, inv, "two")).keysBlob).not.toBeNull();
    const row = (b.ctx.store as SqliteStore).db.query("SELECT keys_blob FROM invites WHERE id = ?").get(inv.inviteId) as { keys_blob: string | null };
    expect(row.keys_blob).toBeNull();
  });

  test("an empty keys blob is refused, on the WebSocket and from the dashboard, and nothing is stored", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const r = await refusedInvite(b, owner, { ...inviteFrame(owner, 2), keysBlob: "" });
    expect(r).toEqual({ ws: expect.objectContaining({ code: "invalid_frame", message: expect.stringContaining("/keysBlob") }), http: { status: 400, code: "invalid_argument" }, stored: false });
  });

  test("member_list carries each enrolment's evidence, which the owner's client checks; a wrong invite key signature is refused", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const admin = await joinWithInvite(b.url, await createInvite(b.url, owner, { role: "admin" }), "ada");
    const bob = await joinWithInvite(b.url, await createInvite(b.url, admin), "bob");
    const o = await connect(b.url, owner);
    const { members } = await o.client.request("member_list", {});
    expect(members.map((m) => [m.displayName, m.admission === null])).toEqual([["owner", true], ["ada", false], ["bob", false]]);
    expect(members[2]!.admission).toMatchObject({ issuerPubkey: admin.keys.publicKey, role: "member" });
    const { vouched, unverified } = vouchedMembers(owner.meshId, owner.keys.publicKey, members);
    expect({ vouched: [...vouched.keys()], unverified }).toEqual({ vouched: [owner.keys.publicKey, admin.keys.publicKey, bob.keys.publicKey], unverified: [] });
    // An invite key signature by another key than the issuer's member key.
    const frame = inviteFrame(owner, 1, generateSigningKeypair());
    const { inviteId, invitePubkey } = frame;
    await expect(o.client.request("invite_create", frame)).rejects.toMatchObject({ code: "bad_invite" });
    // The issuer's own key, but over another use limit than the one sent.
    const moreUses = { ...frame, keySignature: signDetached(inviteKeyCanonical(owner.meshId, inviteId, invitePubkey, 5), owner.keys.secretKey) };
    await expect(o.client.request("invite_create", moreUses)).rejects.toMatchObject({ code: "bad_invite" });
    expect((await o.client.request("invite_list", {})).invites.some((i) => i.inviteId === inviteId)).toBe(false);
    // A binding without the limit, as clients made it before §3.4b v2, is still accepted.
    const v1 = { ...frame, keySignature: signDetached(inviteKeyCanonicalV1(owner.meshId, inviteId, invitePubkey), owner.keys.secretKey) };
    expect((await o.client.request("invite_create", v1)).invite.inviteId).toBe(inviteId);
    o.close();
  });

  test("an invite without keySignature, as a CLI from before §3.4b sent it, is refused with what to do, on the WebSocket and from the dashboard; nothing is stored", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const { keySignature: _, ...unbound } = inviteFrame(owner, 2);
    const r = await refusedInvite(b, owner, unbound);
    expect(r).toEqual({ ws: expect.objectContaining({ code: "unsupported_version", message: expect.stringContaining("It comes from a claudemesh older than this broker; nothing was stored. Upgrade claudemesh") }), http: { status: 400, code: "unsupported_version" }, stored: false });
  });

  test("the owner's client vouches for no enrolment through an invite the broker let more members use than its signed limit", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const { inv, first, second, showLimit } = await overClaimedInvite(b, owner);
    const o = await connect(b.url, owner);
    const { members } = await o.client.request("member_list", {});
    expect(members[1]!.admission).toMatchObject({ inviteId: inv.inviteId, maxUses: 1 });
    const { vouched, unverified } = vouchedMembers(owner.meshId, owner.keys.publicKey, members);
    expect([...vouched.keys()]).toEqual([owner.keys.publicKey]);
    expect(unverified.map((m) => m.pubkey)).toEqual([first.keys.publicKey, second.keys.publicKey]);
    expect(recipientDoubt(owner.meshId, owner.keys.publicKey, first.keys.publicKey, members, [])).toContain(`one of 2 members the broker shows enrolled through invite ${inv.inviteId}, which its issuer signed for 1 use`);
    // Shown with a limit other than the one signed, nothing from that invite checks out either.
    showLimit(2);
    const relisted = (await o.client.request("member_list", {})).members;
    expect(vouchedMembers(owner.meshId, owner.keys.publicKey, relisted).vouched.size).toBe(1);
    o.close();
  });

  test("only owners and admins manage invites and members", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const bb = await connect(b.url, bob);
    await expect(bb.client.request("invite_list", {})).rejects.toMatchObject({ code: "forbidden" });
    await expect(bb.client.request("member_revoke", { memberId: owner.memberId, ban: true })).rejects.toMatchObject({ code: "forbidden" });
    await expect(createInvite(b.url, bob)).rejects.toMatchObject({ code: "forbidden" });
    bb.close();
  });
});

describe("removal", () => {
  test("hellos in flight when a member is removed are refused, not admitted after the removal", async () => {
    // With synchronous=full a hello awaits several flushed writes between its membership check and
    // its attach; the removal closed only the connections attached when it committed.
    await using b = await startBroker({ synchronous: "full" });
    const { owner } = await createTestMesh(b.url);
    const m = await joinWithInvite(b.url, await createInvite(b.url, owner, { role: "admin" }), "mallory");
    const o = await connect(b.url, owner);
    const socks = await Promise.all(Array.from({ length: 8 }, () => rawSocket(b.url)));
    socks.forEach((s, i) => {
      const ts = Date.now() + i; // distinct signatures
      s.send({ type: "hello", meshId: m.meshId, memberId: m.memberId, pubkey: m.keys.publicKey, sessionId: randomId(), pid: 1, cwd: "/x", timestamp: ts, signature: signDetached(helloCanonical(m.meshId, m.memberId, m.keys.publicKey, ts), m.keys.secretKey) });
    });
    await o.client.request("member_revoke", { memberId: m.memberId, ban: true });
    // Each hello is refused (1008 revoked), or was admitted before the removal and closed by it
    // (4002 banned). Before the fix most were admitted after it and stayed open.
    const closes = await Promise.all(socks.map((s) => Promise.race([s.closed, Bun.sleep(5000).then(() => ({ code: 0, reason: "still open" }))])));
    for (const c of closes) expect([`1008 revoked`, `4002 banned`]).toContain(`${c.code} ${c.reason}`);
    expect(b.ctx.hub.ofMember(m.meshId, m.memberId)).toEqual([]);
    o.close();
  });

  test("a session hello authenticated before its member's removal is refused and leaves no live session behind", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const o = await connect(b.url, owner);
    const sessionKeys = generateSigningKeypair();
    // Removed at the hello's first read of its session (its member found active, its signatures
    // checked), before its session row is written.
    const store = b.ctx.store;
    const getSession = store.getSession.bind(store);
    let removed = false;
    store.getSession = async (meshId, key) => {
      if (key === sessionKeys.publicKey && !removed) {
        removed = true;
        await o.client.request("member_revoke", { memberId: bob.memberId, ban: false });
      }
      return getSession(meshId, key);
    };
    await expect(connectSession(b.url, bob, sessionKeys)).rejects.toMatchObject({ code: "revoked" });
    const live = (b.ctx.store as unknown as SqliteStore)["db"].query("SELECT pubkey FROM sessions WHERE member_id = ? AND ended_at IS NULL").all(bob.memberId);
    expect(live).toEqual([]);
    o.close();
  });

  describe("two removals of one member at once: one wins, the other is a conflict", () => {
    /** A removal waits for the sends ahead of it to be on disk; on a slow disk that takes a while
     *  (here 30 ms more), long enough for a second removal to pass its "already removed" check. */
    async function raceSetup() {
      const b = await startBroker({ synchronous: "full" });
      const { owner } = await createTestMesh(b.url);
      const admin = await joinWithInvite(b.url, await createInvite(b.url, owner, { role: "admin" }), "adm");
      const bob = await addMember(b.url, owner, "bob");
      const [o, a, bb] = [await connect(b.url, owner), await connect(b.url, admin), await connect(b.url, bob)];
      const drain = b.ctx.writes.drain.bind(b.ctx.writes);
      b.ctx.writes.drain = async () => {
        await drain();
        await Bun.sleep(30);
      };
      const settle = (p: Promise<unknown>) => p.then(() => "ok", (e: { code?: string }) => e.code);
      const record = async () => {
        const { entries } = await o.client.request("audit_log", {});
        const { members } = await o.client.request("member_list", {});
        const m = members.find((x) => x.memberId === bob.memberId)!;
        return { ends: entries.filter((e) => e.eventType === "member_revoked" || e.eventType === "member_left").map((e) => e.actor), revokedBy: m.revokedBy, reason: m.revokedReason, banned: m.banned };
      };
      return { b, owner, admin, bob, o, a, bb, settle, record, [Symbol.asyncDispose]: async () => (o.close(), a.close(), bb.close(), await b[Symbol.asyncDispose]()) };
    }

    test("the owner's and an admin's kicks", async () => {
      await using t = await raceSetup();
      const out = await Promise.all([
        t.settle(t.o.client.request("member_revoke", { memberId: t.bob.memberId, ban: false, reason: "owner says" })),
        t.settle(t.a.client.request("member_revoke", { memberId: t.bob.memberId, ban: true, reason: "admin says" })),
      ]);
      expect(out).toEqual(["ok", "conflict"]);
      expect(await t.record()).toEqual({ ends: [t.owner.memberId], revokedBy: t.owner.memberId, reason: "owner says", banned: false });
    });

    test("the member's own leave and a ban", async () => {
      await using t = await raceSetup();
      const out = await Promise.all([t.settle(t.bb.client.request("leave", {})), t.settle(t.o.client.request("member_revoke", { memberId: t.bob.memberId, ban: true }))]);
      expect(out).toEqual(["ok", "conflict"]);
      // Left (revokedBy itself), never also banned (protocol §4.3.19).
      expect(await t.record()).toEqual({ ends: [t.bob.memberId], revokedBy: t.bob.memberId, reason: "left", banned: false });
    });
  });

  test("a session key of one member cannot be enrolled as another member's key (409 conflict)", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const alice = await addMember(b.url, owner, "alice");
    const sessionKeys = generateSigningKeypair();
    (await connectSession(b.url, alice, sessionKeys)).close();
    const inv = await createInvite(b.url, owner);
    const claim = claimInvite(b.url, { inviteId: inv.inviteId, meshId: inv.meshId, inviteKeys: inv.inviteKeys, joiner: sessionKeys, displayName: "mallory" });
    await expect(claim).rejects.toMatchObject({ code: "conflict" });
    expect((await b.ctx.store.listMembers(owner.meshId)).map((m) => m.displayName).sort()).toEqual(["alice", "owner"]);
    (await connectSession(b.url, alice, sessionKeys)).close(); // alice's session still connects
  });

  test("invites a removed member issued die with it: it cannot rejoin through one it made beforehand", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const admin = await joinWithInvite(b.url, await createInvite(b.url, owner, { role: "admin" }), "mallory");
    const backdoor = await createInvite(b.url, admin, { maxUses: 50 });
    const o = await connect(b.url, owner);
    await o.client.request("member_revoke", { memberId: admin.memberId, ban: true, reason: "compromised" });
    await expect(joinWithInvite(b.url, backdoor, "mallory-again")).rejects.toMatchObject({ code: "invite_revoked" });
    const { invites } = await o.client.request("invite_list", {});
    expect(invites.find((i) => i.inviteId === backdoor.inviteId)?.revokedAt).not.toBeNull();
    const { entries } = await o.client.request("audit_log", {});
    expect(entries.some((e) => e.eventType === "invite_revoked" && (e.payload as { inviteId?: string }).inviteId === backdoor.inviteId)).toBe(true);
    o.close();
  });

  test("frames a member pipelines after its own leave are refused: nothing runs, is stored or reaches anyone", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const o = await connect(b.url, owner);
    const bb = await connect(b.url, bob);
    const settle = (p: Promise<unknown>) => p.then(() => "ok", (e: { code?: string }) => e.code);
    const out = await Promise.all([
      settle(bb.client.request("leave", {})),
      settle(bb.client.request("topic_create", { name: "ghost" })),
      settle(bb.client.request("grant_set", { peer: owner.keys.publicKey, caps: [] })),
      settle(bb.client.request("group_join", { group: "ghosts" })),
      settle(bb.client.request("send", { to: "*", clientMessageId: "after-leave-01", ...envelope("I already left") })),
    ]);
    expect(out).toEqual(["ok", "revoked", "revoked", "revoked", "revoked"]);
    await Bun.sleep(100); // proves nothing refused reaches the owner
    expect(o.messages).toEqual([]);
    const { topics } = await o.client.request("topic_list", {});
    expect(topics.map((t) => t.name)).toEqual(["general"]);
    const { entries } = await o.client.request("audit_log", {});
    expect(entries.at(-1)?.eventType).toBe("member_left");
    o.close();
  });

  test("a member kicked while it keeps sending: everything it sent before the removal commits first, nothing after", async () => {
    await using b = await startBroker({ synchronous: "full" });
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const carol = await addMember(b.url, owner, "carol");
    const o = await connect(b.url, owner);
    const c = await connect(b.url, carol);
    const bb = await connect(b.url, bob);
    let stop = false;
    const spam = (async () => {
      for (let i = 0; !stop && i < 3000; i++) {
        void bb.client.request("send", { to: "*", clientMessageId: `spam-${String(i).padStart(6, "0")}`, ...envelope(`s${i}`) }).catch(() => {});
        if (i % 20 === 0) await Bun.sleep(0);
      }
    })();
    await c.waitMessages(1); // bob's sends are flowing
    await o.client.request("member_revoke", { memberId: bob.memberId, ban: false });
    stop = true;
    await spam;
    await Bun.sleep(300); // the frames bob had in flight are handled: proves none of them commits after the removal
    const db = (b.ctx.store as SqliteStore).db;
    const { revoked_at } = db.query("SELECT revoked_at FROM members WHERE id = ?").get(bob.memberId) as { revoked_at: number };
    const fromBob = c.messages.filter((m) => m.from.memberId === bob.memberId);
    expect(fromBob.length).toBeGreaterThan(0); // the race was real: bob was sending when removed
    expect(fromBob.filter((m) => m.createdAt > revoked_at)).toEqual([]);
    expect(db.query("SELECT COUNT(*) AS n FROM messages WHERE sender_member_id = ? AND created_at > ?").get(bob.memberId, revoked_at)).toEqual({ n: 0 });
    o.close();
    c.close();
  });
});

describe("grants", () => {
  test("a blocked sender gets a normal result, the recipient nothing, and the drop is counted", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const carol = await addMember(b.url, owner, "carol");
    const [a, bb, cc] = await Promise.all([connect(b.url, owner), connect(b.url, bob), connect(b.url, carol)]);
    await bb.client.request("grant_set", { peer: owner.keys.publicKey, caps: [] });
    await cc.client.request("grant_set", { peer: owner.keys.publicKey, caps: ["dm"] });
    expect((await sendText(a, bob.keys.publicKey, "blocked dm")).duplicate).toBe(false);
    await sendText(a, "*", "broadcast");
    await sendText(a, carol.keys.publicKey, "allowed dm");
    expect((await cc.waitMessages(1)).map(textOf)).toEqual(["allowed dm"]);
    await Bun.sleep(100); // proves the dropped ones do not follow
    expect([bb.messages.length, cc.messages.length]).toEqual([0, 1]);
    const metrics = await (await fetch(`${b.url}/metrics`)).text();
    expect(metrics).toContain('broker_messages_dropped_by_grant_total{cap="dm"} 1');
    expect(metrics).toContain('broker_messages_dropped_by_grant_total{cap="broadcast"} 2');
    const list = await bb.client.request("grant_list", {});
    expect(list.grants).toEqual([{ peer: owner.keys.publicKey, caps: [] }]);
    for (const p of [a, bb, cc]) p.close();
  });
});

describe("audit", () => {
  test("membership events form a verifiable chain; a tampered row is named", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const a = await connect(b.url, owner);
    await a.client.request("member_revoke", { memberId: bob.memberId, ban: true, reason: "spam" });
    await a.client.request("key_rotate", { epoch: 1, reason: "bob removed" });
    const log = await a.client.request("audit_log", {});
    expect(log.entries.map((e) => e.eventType)).toEqual(["mesh_created", "invite_created", "member_joined", "invite_claimed", "member_revoked", "key_rotated"]);
    expect(await a.client.request("audit_verify", {})).toMatchObject({ valid: true, entries: 6, brokenAt: null });
    (b.ctx.store as SqliteStore).db.run("UPDATE audit_log SET payload = replace(payload, 'spam', 'nothing') WHERE event_type = 'member_revoked'");
    // The broker re-hashes what it verified before only once AUDIT_RECHECK_MS has passed
    // (src/broker/audit-verifier.ts); a client that verifies the entries itself sees it at once.
    expect(verifyChain((await a.client.request("audit_log", {})).entries)).toMatchObject({ valid: false, brokenAt: 5 });
    const ctx = b.ctx as { now: () => number };
    const realNow = ctx.now;
    ctx.now = () => realNow() + AUDIT_RECHECK_MS;
    expect(await a.client.request("audit_verify", {})).toMatchObject({ valid: false, entries: 6, brokenAt: 5 });
    a.close();
  });

  test("a payload that is not JSON any more is named by verify, and the log still lists every entry", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    await addMember(b.url, owner, "bob");
    const a = await connect(b.url, owner);
    (b.ctx.store as SqliteStore).db.run("UPDATE audit_log SET payload = '{not json' WHERE seq = 2");
    expect(await a.client.request("audit_verify", {})).toMatchObject({ valid: false, brokenAt: 2 });
    const { entries } = await a.client.request("audit_log", {});
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(entries[1]!.payload).toEqual({ unreadable: "{not json" });
    a.close();
  });

  test("changes that change nothing write no audit entry; a grant names a key of the mesh", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const a = await connect(b.url, owner);
    const count = async () => (await a.client.request("audit_log", {})).entries.length;
    const start = await count();
    const inv = await createInvite(b.url, owner);
    await a.client.request("invite_revoke", { inviteId: inv.inviteId });
    await a.client.request("invite_revoke", { inviteId: inv.inviteId }); // again: same answer, nothing new
    expect(await count()).toBe(start + 2); // invite_created, invite_revoked
    await a.client.request("grant_set", { peer: bob.keys.publicKey, caps: null }); // no entry to delete
    await a.client.request("grant_set", { peer: bob.keys.publicKey, caps: ["dm"] });
    await a.client.request("grant_set", { peer: bob.keys.publicKey, caps: ["dm"] });
    expect(await count()).toBe(start + 3);
    await expect(a.client.request("grant_set", { peer: "ab".repeat(32), caps: [] })).rejects.toMatchObject({ code: "unknown_recipient" });
    expect(await count()).toBe(start + 3);
    a.close();
  });

  test("topic_list counts only members still in the mesh", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const a = await connect(b.url, owner);
    await a.client.request("member_revoke", { memberId: bob.memberId, ban: false });
    // A row a removed member kept (written by an older version's race): not counted.
    const db = (b.ctx.store as SqliteStore).db;
    db.run("INSERT INTO topic_members (topic_id, member_id, role, joined_at) SELECT id, ?, 'member', 0 FROM topics WHERE name = 'general'", [bob.memberId]);
    const { topics } = await a.client.request("topic_list", {});
    const { members } = await a.client.request("topic_members", { topic: "general" });
    expect({ listed: topics[0]!.members, members: members.length }).toEqual({ listed: 1, members: 1 });
    a.close();
  });
});
