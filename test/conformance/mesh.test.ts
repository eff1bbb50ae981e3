// Scenarios 1 and 2: create a mesh over signed HTTP, connect the owner, invite and enrol a second
// member, and see each other. Real broker on port 0, real WebSocket and HTTP.
import { expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { inviteClaimCanonical, inviteKeyCanonical, inviteV2Canonical, newKey, verify, verifyChain, type AuditEntry } from "./wire.ts";
import { claimBody, connect, createMesh, helloFrame, postJson } from "./transport.ts";
import { inviteFrame } from "./envelopes.ts";
import { closeAll, invite, newMesh } from "./fixture.ts";


test("1. POST /v1/meshes creates a mesh; the owner's hello gets hello_ack", async () => {
  await using b = await startBroker();
  const mesh = await newMesh(b.url);
  const { mesh: m, member } = mesh.createAnswer;
  expect(m).toMatchObject({ id: mesh.meshId, name: "Conformance mesh", ownerPubkey: mesh.owner.key.pub, keyEpoch: 0 });
  expect(typeof m.createdAt).toBe("number");
  expect(member).toMatchObject({ pubkey: mesh.owner.key.pub, displayName: "alice", role: "owner", revokedAt: null, revokedReason: null, banned: false });
  expect(member.memberId).toMatch(/^[A-Za-z0-9_-]{8,64}$/);

  const before = Date.now();
  // a displayName in a member hello is ignored (§4.3.1): the enrolled name is used
  const { conn, ack } = await connect(b.url, helloFrame(mesh.owner, { displayName: "mallory", receive: "push" }));
  expect(ack).toMatchObject({
    type: "hello_ack",
    protocolVersion: 1,
    memberId: mesh.owner.memberId,
    role: "owner",
    displayName: "alice",
    mesh: { id: mesh.meshId, slug: m.slug, name: "Conformance mesh", ownerPubkey: mesh.owner.key.pub, keyEpoch: 0 },
    pending: 0,
    reattached: false,
  });
  expect(ack.id).toBeUndefined();
  expect(typeof ack.presenceId).toBe("string");
  expect(typeof ack.hookToken).toBe("string");
  expect(typeof ack.epoch).toBe("string");
  expect(Math.abs(ack.serverTime - before)).toBeLessThan(10_000);
  expect(ack.limits.maxFrameBytes).toBe(65536);
  expect(typeof ack.limits.sendRatePerSec).toBe("number");
  expect(typeof ack.limits.sendBurst).toBe("number");
  expect(ack.pingIntervalMs).toBe(30_000); // the default pingInterval (§2.6, §2.8)

  // every mesh starts with #general, the owner its lead (§4.3.11, §6.3)
  const { topics } = await conn.ok({ type: "topic_list" });
  expect(topics).toEqual([expect.objectContaining({ name: "general", members: 1, lastOffset: 0, joined: true })]);
  const tm = await conn.ok({ type: "topic_members", topic: "general" });
  expect(tm.members).toEqual([expect.objectContaining({ memberId: mesh.owner.memberId, pubkey: mesh.owner.key.pub, role: "lead" })]);

  // the audit chain starts with mesh_created and verifies with our own hash code (§9)
  const { entries } = await conn.ok({ type: "audit_log", afterSeq: 0 });
  expect(entries[0]).toMatchObject({ seq: 1, eventType: "mesh_created", actor: mesh.owner.memberId, prevHash: "genesis", payload: { slug: m.slug, name: "Conformance mesh", ownerPubkey: mesh.owner.key.pub } });
  const mine = verifyChain(entries as AuditEntry[]);
  expect(mine.valid).toBe(true);
  const theirs = await conn.ok({ type: "audit_verify" });
  expect(theirs).toEqual({ valid: true, entries: entries.length, head: mine.head, brokenAt: null, reason: null });

  // a second mesh with the same slug is a conflict (§6.3)
  const again = await createMesh(b.url, newKey(), { meshId: "mesh_another01", slug: m.slug, name: "x", ownerDisplayName: "x" });
  expect([again.status, again.body.error?.code]).toEqual([409, "conflict"]);
  await closeAll(conn);
});

test("2. invite over the WebSocket, claim over HTTP, both see each other", async () => {
  await using b = await startBroker();
  const mesh = await newMesh(b.url);
  const { conn: ownerConn } = await connect(b.url, helloFrame(mesh.owner));

  const j = await invite(mesh, ownerConn, mesh.owner, "bob");
  // invite_create result: an invite record (§4.3.22)
  expect(j.created.invite).toMatchObject({ inviteId: j.invite.inviteId, role: "member", maxUses: 1, usedCount: 0, expiresAt: j.invite.expiresAt, createdBy: mesh.owner.memberId, revokedAt: null });
  expect(typeof j.created.invite.createdAt).toBe("number");
  // claim answer (§6.4): mesh, new member, the sealed keysBlob, active members
  expect(j.claim.mesh.id).toBe(mesh.meshId);
  expect(j.claim.member).toMatchObject({ pubkey: j.member.key.pub, displayName: "bob", role: "member", revokedAt: null, banned: false });
  expect(j.claim.members.map((x: any) => x.pubkey).sort()).toEqual([mesh.owner.key.pub, j.member.key.pub].sort());
  // the joiner opened the keysBlob with the link secret and now holds the owner's epoch-0 key
  expect(Buffer.from(j.meshKeys.get(0)!).equals(Buffer.from(mesh.meshKeys.get(0)!))).toBe(true);

  // the owner hears member_joined (§4.4.5)
  const mj = await ownerConn.event("member_joined");
  expect(mj.data).toEqual({ memberId: j.member.memberId, pubkey: j.member.key.pub, displayName: "bob", role: "member", inviteId: j.invite.inviteId });

  const { conn: bobConn, ack: bobAck } = await connect(b.url, helloFrame(j.member));
  expect(bobAck).toMatchObject({ memberId: j.member.memberId, role: "member", displayName: "bob", reattached: false });
  const pj = await ownerConn.event("peer_joined", (d) => d.pubkey === j.member.key.pub);
  expect(pj.data).toEqual({ pubkey: j.member.key.pub, memberId: j.member.memberId, displayName: "bob", kind: "member", cwd: "/work/bob", hostname: "conformance-host" });

  for (const c of [ownerConn, bobConn]) {
    const { peers } = await c.ok({ type: "list_peers" });
    const alice = peers.find((p: any) => p.pubkey === mesh.owner.key.pub);
    const bob = peers.find((p: any) => p.pubkey === j.member.key.pub);
    expect(alice).toMatchObject({ kind: "member", memberId: mesh.owner.memberId, memberPubkey: mesh.owner.key.pub, displayName: "alice", online: true, status: "idle", groups: [] });
    expect(bob).toMatchObject({ kind: "member", memberId: j.member.memberId, memberPubkey: j.member.key.pub, displayName: "bob", online: true, status: "idle", cwd: "/work/bob", hostname: "conformance-host" });
    expect(typeof bob.connectedAt).toBe("number");
  }

  // bob is in #general (every member joins it at enrolment)
  const { members: gm } = await bobConn.ok({ type: "topic_members", topic: "general" });
  expect(gm.map((x: any) => x.pubkey)).toContain(j.member.key.pub);

  // the owner checks bob's admission evidence itself, as §11.5 "Who gets keys" says
  const { members } = await ownerConn.ok({ type: "member_list" });
  const bobRec = members.find((x: any) => x.memberId === j.member.memberId);
  const a = bobRec.admission;
  expect(a).toMatchObject({ inviteId: j.invite.inviteId, role: "member", maxUses: 1, expiresAt: j.invite.expiresAt, issuerPubkey: mesh.owner.key.pub, invitePubkey: j.invite.inviteKey.pub });
  expect(verify(inviteV2Canonical(mesh.meshId, a.inviteId, a.expiresAt, a.role, a.issuerPubkey), a.inviteSignature, mesh.owner.key.pub)).toBe(true);
  expect(verify(inviteKeyCanonical(mesh.meshId, a.inviteId, a.invitePubkey, a.maxUses), a.keySignature, mesh.owner.key.pub)).toBe(true);
  expect(verify(inviteClaimCanonical(a.inviteId, bobRec.pubkey, a.claimedAt), a.claimSignature, a.invitePubkey)).toBe(true);
  expect(members.find((x: any) => x.memberId === mesh.owner.memberId).admission).toBeNull();

  // the rows of those lists one target and one key need (§4.3.28–29): by name whatever its case,
  // by the start of a name, by a key prefix; bob's row, then his inviter's, with the invite's claims
  const bobPeer = async (text: string) => (await ownerConn.ok({ type: "peer_lookup", text })) as { peers: any[]; complete: boolean; nameRule: number };
  for (const text of ["bob", " BOB ", "bo", j.member.key.pub.slice(0, 8)]) {
    const r = await bobPeer(text);
    expect({ text, keys: r.peers.map((p) => p.pubkey), complete: r.complete, nameRule: r.nameRule }).toEqual({ text, keys: [j.member.key.pub], complete: true, nameRule: 2 });
    expect(r.peers[0]).toMatchObject({ kind: "member", memberId: j.member.memberId, displayName: "bob", online: true });
  }
  expect((await bobPeer("zed")).peers).toEqual([]);
  const owned = await ownerConn.ok({ type: "member_lookup", pubkey: j.member.key.pub });
  expect(owned).toEqual({ members: [bobRec, members.find((x: any) => x.memberId === mesh.owner.memberId)], claims: [{ inviteId: j.invite.inviteId, claimed: 1 }] });

  // a second claim of a one-use invite is refused (§6.4)
  const late = newKey();
  const second = await postJson(b.url, `/v1/invites/${j.invite.inviteId}/claim`, claimBody({ meshId: mesh.meshId, inviteId: j.invite.inviteId, inviteKey: j.invite.inviteKey, joiner: late, displayName: "carol" }));
  expect(second.status).toBe(410);
  expect(second.body.error).toMatchObject({ code: "invite_exhausted", retryable: false });
  const { invites } = await ownerConn.ok({ type: "invite_list" });
  expect(invites.find((x: any) => x.inviteId === j.invite.inviteId).usedCount).toBe(1);

  // the chain now records the enrolment and still verifies with our code
  const { entries } = await bobConn.ok({ type: "audit_log" });
  expect(entries.map((e: AuditEntry) => e.eventType)).toEqual(expect.arrayContaining(["mesh_created", "invite_created", "member_joined", "invite_claimed"]));
  expect(verifyChain(entries).valid).toBe(true);
  await closeAll(ownerConn, bobConn);
});

test("2b. invite rules: claim errors in the documented order, role limits, revoke", async () => {
  await using b = await startBroker();
  const mesh = await newMesh(b.url);
  const { conn: ownerConn } = await connect(b.url, helloFrame(mesh.owner));
  const bob = await invite(mesh, ownerConn, mesh.owner, "bob");
  const { conn: bobConn } = await connect(b.url, helloFrame(bob.member));

  // a plain member may not invite (§4.3.22)
  const { frame: byBob } = inviteFrame(bob.member);
  expect(await bobConn.call(byBob)).toMatchObject({ type: "error", code: "forbidden" });
  // a wrong invite signature is bad_invite
  const { frame: bad } = inviteFrame(mesh.owner);
  expect(await ownerConn.call({ ...bad, role: "admin" })).toMatchObject({ type: "error", code: "bad_invite" });
  // §4.3.22's order: expiry, signature, a missing keySignature, the keySignature, the id
  const { frame: noKey } = inviteFrame(mesh.owner, { keySignature: false });
  expect(await ownerConn.call(noKey)).toMatchObject({ type: "error", code: "unsupported_version" });
  expect(await ownerConn.call({ ...noKey, signature: "00".repeat(64) })).toMatchObject({ type: "error", code: "bad_invite" });
  expect(await ownerConn.call({ ...noKey, signature: "00".repeat(64), expiresAt: 1 })).toMatchObject({ type: "error", code: "invalid_argument" });
  const { frame: badKey } = inviteFrame(mesh.owner);
  expect(await ownerConn.call({ ...badKey, keySignature: "00".repeat(64) })).toMatchObject({ type: "error", code: "bad_invite" });

  const { frame, invite: inv } = inviteFrame(mesh.owner, { maxUses: 5 });
  await ownerConn.ok(frame);
  const joiner = newKey();
  const body = claimBody({ meshId: mesh.meshId, inviteId: inv.inviteId, inviteKey: inv.inviteKey, joiner, displayName: "dave" });
  // unknown invite id
  expect((await postJson(b.url, `/v1/invites/inv_doesnotexist/claim`, body)).body.error.code).toBe("invite_not_found");
  // a segment that is not an Id (§6.4): bad input, not an unknown invite
  const rMalformed = await postJson(b.url, `/v1/invites/inv.bad/claim`, body);
  expect([rMalformed.status, rMalformed.body.error.code]).toEqual([400, "invalid_argument"]);
  expect(rMalformed.body.error.message).toStartWith("The path does not name an invite id");
  // the body's shape is checked before the segment (§6.4): both bad, the body's path is named
  const bothBad = await postJson(b.url, `/v1/invites/inv.bad/claim`, {});
  expect([bothBad.status, bothBad.body.error.code, bothBad.body.error.message]).toEqual([400, "invalid_argument", expect.stringContaining("/meshId")]);
  // claim signed by a key that is not the invite key
  const wrongInvite = claimBody({ meshId: mesh.meshId, inviteId: inv.inviteId, inviteKey: newKey(), joiner, displayName: "dave" });
  const r1 = await postJson(b.url, `/v1/invites/${inv.inviteId}/claim`, wrongInvite);
  expect([r1.status, r1.body.error.code]).toEqual([400, "bad_invite"]);
  // the joiner's own signature does not verify
  const badJoiner = { ...body, signature: claimBody({ meshId: mesh.meshId, inviteId: inv.inviteId, inviteKey: inv.inviteKey, joiner: newKey(), displayName: "dave", timestamp: body.timestamp }).signature };
  const r0 = await postJson(b.url, `/v1/invites/${inv.inviteId}/claim`, badJoiner);
  expect([r0.status, r0.body.error.code]).toEqual([401, "bad_signature"]);
  // the invite belongs to another mesh id
  const r00 = await postJson(b.url, `/v1/invites/${inv.inviteId}/claim`, { ...body, meshId: "mesh_someother" });
  expect([r00.status, r00.body.error.code]).toEqual([404, "invite_not_found"]);
  // stale timestamp
  const stale = claimBody({ meshId: mesh.meshId, inviteId: inv.inviteId, inviteKey: inv.inviteKey, joiner, displayName: "dave", timestamp: Date.now() - 120_000 });
  const r2 = await postJson(b.url, `/v1/invites/${inv.inviteId}/claim`, stale);
  expect([r2.status, r2.body.error.code]).toEqual([401, "timestamp_skew"]);
  // the good claim works once; the same body again is a replay
  const ok = await postJson(b.url, `/v1/invites/${inv.inviteId}/claim`, body);
  expect(ok.status).toBe(201);
  expect(ok.body.keysBlob).toBeNull(); // no keysBlob was left with this invite
  const again = await postJson(b.url, `/v1/invites/${inv.inviteId}/claim`, body);
  expect([again.status, again.body.error.code]).toEqual([401, "replayed"]);
  // a freshly signed claim by the same key: the answer it may have lost, and no second use (§6.4)
  const dup = await postJson(b.url, `/v1/invites/${inv.inviteId}/claim`, claimBody({ meshId: mesh.meshId, inviteId: inv.inviteId, inviteKey: inv.inviteKey, joiner, displayName: "dave" }));
  expect([dup.status, dup.body.member.memberId]).toEqual([200, ok.body.member.memberId]);
  expect((await ownerConn.ok({ type: "invite_list" })).invites.find((x: any) => x.inviteId === inv.inviteId).usedCount).toBe(1);
  // a key enrolled through another invite is a conflict
  const other = await postJson(b.url, `/v1/invites/${inv.inviteId}/claim`, claimBody({ meshId: mesh.meshId, inviteId: inv.inviteId, inviteKey: inv.inviteKey, joiner: bob.member.key, displayName: "bob" }));
  expect([other.status, other.body.error.code]).toEqual([409, "conflict"]);
  // after invite_revoke: invite_revoked
  expect(await ownerConn.ok({ type: "invite_revoke", inviteId: inv.inviteId })).toEqual({ inviteId: inv.inviteId, revoked: true });
  const revokedAt = (await ownerConn.ok({ type: "invite_list" })).invites.find((x: any) => x.inviteId === inv.inviteId).revokedAt;
  expect(typeof revokedAt).toBe("number");
  // revoking twice: the same answer, and the first time is kept (§4.3.24)
  expect(await ownerConn.ok({ type: "invite_revoke", inviteId: inv.inviteId })).toEqual({ inviteId: inv.inviteId, revoked: true });
  expect((await ownerConn.ok({ type: "invite_list" })).invites.find((x: any) => x.inviteId === inv.inviteId).revokedAt).toBe(revokedAt);
  const late = await postJson(b.url, `/v1/invites/${inv.inviteId}/claim`, claimBody({ meshId: mesh.meshId, inviteId: inv.inviteId, inviteKey: inv.inviteKey, joiner: newKey(), displayName: "erin" }));
  expect([late.status, late.body.error.code]).toEqual([410, "invite_revoked"]);
  await closeAll(ownerConn, bobConn);
});
