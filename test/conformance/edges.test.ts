// Boundaries and smaller promises of docs/protocol.md that a client can observe: frame size
// limits (§4.1), version negotiation (§1.2), check order (§2.3), same-commit de-duplication
// (§5.3), frames behind the hello (§2.2), Content-Type (§6), invite and role rules (§4.3.20–24), invite pages (§4.3.23), audit paging (§4.3.26), offline hook status (§6.5)
// and the drain close (§2.10).
import { expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { newKey, randomId, sign, verifyChain } from "./wire.ts";
import { Conn, claimBody, connect, handshake, helloFrame, postJson, sessionHelloFrame, signedRequest, type Frame } from "./transport.ts";
import { encodeInner, inviteFrame, sealDirect } from "./envelopes.ts";
import { closeAll, invite, meshWith, newMesh } from "./fixture.ts";

test("frame size: exactly maxFrameBytes is parsed, one byte more is frame_too_large, 4× more closes 1009", async () => {
  await using b = await startBroker();
  const mesh = await newMesh(b.url);
  const { conn } = await connect(b.url, helloFrame(mesh.owner));
  const frameOf = (bytes: number) => {
    const head = '{"type":"set_summary","id":"big","summary":"';
    const tail = '"}';
    return head + "x".repeat(bytes - head.length - tail.length) + tail;
  };
  conn.sendRaw(frameOf(65536));
  const atLimit = await conn.take((f) => f.type === "error" && f.id === "big");
  expect(atLimit.code).toBe("invalid_frame"); // parsed: the summary is too long for its schema
  conn.sendRaw(frameOf(65537));
  const over = await conn.take((f) => f.type === "error" && f.code === "frame_too_large");
  expect(over.id).toBeUndefined();
  // __proto__ is just an unexpected property
  conn.sendRaw('{"type":"list_peers","id":"p","__proto__":{"x":1}}');
  expect(await conn.take((f) => f.type === "error" && f.id === "p")).toMatchObject({ code: "invalid_frame" });
  conn.sendRaw(frameOf(4 * 65536 + 10));
  expect((await conn.closed).code).toBe(1009);
});

test("version negotiation: a newer protocolVersion is refused with unsupported_version (§1.2)", async () => {
  await using b = await startBroker();
  const mesh = await newMesh(b.url);
  const v2 = await handshake(b.url, helloFrame(mesh.owner, { protocolVersion: 2 }));
  expect(v2.reply).toMatchObject({ type: "error", code: "unsupported_version" });
  expect(await v2.conn.closed).toEqual({ code: 1008, reason: "unsupported_version" });
  // A newer client's hello may carry fields version 1 does not know, or a version beyond 1000:
  // still unsupported_version, before the schema check (§1.2).
  for (const extra of [{ protocolVersion: 2, capabilities: ["v2-thing"] }, { protocolVersion: 5000 }]) {
    const newer = await handshake(b.url, helloFrame(mesh.owner, extra));
    expect(newer.reply.code).toBe("unsupported_version");
    expect(await newer.conn.closed).toEqual({ code: 1008, reason: "unsupported_version" });
  }
  // The same fields at version 1 are a malformed hello.
  const v1extra = await handshake(b.url, helloFrame(mesh.owner, { protocolVersion: 1, capabilities: ["v2-thing"] }));
  expect(v1extra.reply.code).toBe("malformed");
  await v1extra.conn.closed;
  // an unknown member with a bad signature: bad_signature comes before membership (§2.3)
  const stranger = { ...mesh.owner, key: newKey() };
  const r = await handshake(b.url, helloFrame(stranger, { signature: sign("x", stranger.key) }));
  expect(r.reply.code).toBe("bad_signature");
  await r.conn.closed;
});

test("frames behind the hello wait for hello_ack: text is answered in order, binary gets invalid_frame; a refused hello drops them (§2.2)", async () => {
  await using b = await startBroker();
  const mesh = await newMesh(b.url);
  const conn = await Conn.open(b.url);
  // A new session's hello stores its session before hello_ack, so the frames behind it arrive
  // while it is still being admitted.
  conn.sendFrame(sessionHelloFrame(mesh.owner, newKey()));
  conn.sendRaw(new Uint8Array([1, 2, 3]));
  conn.sendFrame({ type: "set_summary", id: "s1", summary: "behind the hello" });
  const order: string[] = [];
  const seen = (f: Frame) => (order.push(f.type === "error" ? `error ${f.code}` : f.type === "result" ? `result ${f.id}` : f.type), true);
  while (order.length < 3) await conn.take(seen);
  expect(order).toEqual(["hello_ack", "error invalid_frame", "result s1"]);
  expect((await conn.ok({ type: "list_peers", id: "p" })).peers.map((p: Frame) => p.summary)).toContain("behind the hello");
  conn.close();
  // The same behind a refused hello: the refusal, then the close, and no answer to either.
  const refused = await Conn.open(b.url);
  refused.sendFrame(helloFrame(mesh.owner, { signature: sign("x", mesh.owner.key) }));
  refused.sendRaw(new Uint8Array([1]));
  refused.sendFrame({ type: "set_summary", id: "s2", summary: "never" });
  expect(await refused.take(() => true)).toMatchObject({ type: "error", code: "bad_signature" });
  expect(await refused.closed).toEqual({ code: 1008, reason: "bad_signature" });
  expect(await refused.sees(() => true, 100)).toBe(false);
});

test("mesh creation, claim and the status hook read JSON whatever the Content-Type; the dashboard's POSTs require it (§6)", async () => {
  await using b = await startBroker();
  const mesh = await newMesh(b.url);
  const owner = newKey();
  const body = JSON.stringify({ meshId: randomId("mesh"), slug: `ct-${Date.now().toString(36)}`, name: "Typeless", ownerPubkey: owner.pub, ownerDisplayName: "o" });
  expect((await signedRequest(b.url, "POST", "/v1/meshes", body, owner, { contentType: "text/plain" })).status).toBe(201);
  const hook = JSON.stringify({ status: "working", meshId: mesh.meshId });
  expect((await signedRequest(b.url, "POST", "/hook/set-status", hook, mesh.owner.key, { contentType: null })).status).toBe(200);
  const { conn } = await connect(b.url, helloFrame(mesh.owner));
  const { frame, invite: made } = inviteFrame(mesh.owner, { meshKeys: mesh.meshKeys });
  await conn.ok(frame);
  const claim = claimBody({ meshId: mesh.meshId, inviteId: made.inviteId, inviteKey: made.inviteKey, joiner: newKey(), displayName: "t" });
  expect((await postJson(b.url, `/v1/invites/${made.inviteId}/claim`, claim, { "content-type": "text/plain" })).status).toBe(201);
  const login = await postJson(b.url, "/v1/dashboard/login", "{}", { "content-type": "text/plain" });
  expect({ status: login.status, code: login.body.error?.code }).toEqual({ status: 400, code: "invalid_argument" });
  conn.close();
});

test("two sends with one clientMessageId back to back are stored once (§5.3)", async () => {
  await using b = await startBroker();
  const { mesh, owner: alice, ownerConn: aliceConn, others } = await meshWith(b.url, ["bob"]);
  const { member: bob, conn: bobConn } = others[0]!;
  const id = randomId("cm");
  const inner = encodeInner({ v: 1, mesh: mesh.meshId, from: alice.key.pub, to: bob.key.pub, id, ts: Date.now(), kind: "text", body: "once" });
  const f: Frame = { type: "send", to: bob.key.pub, clientMessageId: id, ...sealDirect(alice.key, bob.key.pub, inner) };
  const [a, c] = await Promise.all([aliceConn.call({ ...f, id: "s1" }), aliceConn.call({ ...f, id: "s2" })]);
  expect(a.data.messageId).toBe(c.data.messageId);
  expect([a.data.duplicate, c.data.duplicate].sort()).toEqual([false, true]);
  await bobConn.message((m) => m.messageId === a.data.messageId);
  expect(await bobConn.sees((m) => m.type === "message", 150)).toBe(false);
  await closeAll(aliceConn, bobConn);
});

test("roles and invites: admins, expiry bounds, issuer removal revokes its invites (§4.3.20–24)", async () => {
  await using b = await startBroker();
  const mesh = await newMesh(b.url);
  const { conn: ownerConn } = await connect(b.url, helloFrame(mesh.owner));
  // expiry bounds of invite_create
  const past = inviteFrame(mesh.owner);
  const pastExp = Math.floor(Date.now() / 1000) - 10;
  const { frame: pf } = past;
  const resign = (f: Frame, exp: number) => ({ ...f, expiresAt: exp, signature: sign(`v=2|${mesh.meshId}|${f.inviteId}|${exp}|${f.role}|${mesh.owner.key.pub}`, mesh.owner.key) });
  expect(await ownerConn.call(resign(pf, pastExp))).toMatchObject({ type: "error", code: "invalid_argument" });
  expect(await ownerConn.call(resign(pf, Math.floor(Date.now() / 1000) + 366 * 86400))).toMatchObject({ type: "error", code: "invalid_argument" });

  const adm = await invite(mesh, ownerConn, mesh.owner, "ada", { role: "admin" });
  expect(adm.claim.member.role).toBe("admin");
  const { conn: adaConn, ack } = await connect(b.url, helloFrame(adm.member));
  expect(ack.role).toBe("admin");
  // an admin may invite members, not admins
  expect(await adaConn.call(inviteFrame(adm.member, { role: "admin" }).frame)).toMatchObject({ type: "error", code: "forbidden" });
  const byAda = inviteFrame(adm.member, { maxUses: 3 });
  await adaConn.ok(byAda.frame);
  // invite_list (owner or admin), and revoking twice
  expect((await adaConn.ok({ type: "invite_list" })).invites.length).toBeGreaterThanOrEqual(2);
  // key epochs are the owner's alone: members take mesh keys only from the owner (§4.3.25, §11)
  expect(await adaConn.call({ type: "key_rotate", epoch: 2 ** 31 })).toMatchObject({ type: "error", code: "forbidden" });
  expect((await ownerConn.ok({ type: "key_rotate", epoch: 1 })).epoch).toBe(1);
  // an admin's session key administers nothing: removals, invites, rotations, grants and leaving
  // take the member key (§4.3)
  const { conn: adaSession } = await connect(b.url, sessionHelloFrame(adm.member, newKey()));
  const bySession: Frame[] = [
    { type: "member_revoke", memberId: adm.member.memberId, ban: false },
    inviteFrame(adm.member).frame,
    { type: "invite_list" },
    { type: "key_rotate", epoch: 2 },
    { type: "grant_set", peer: mesh.owner.key.pub, caps: [] },
    { type: "leave" },
  ];
  for (const f of bySession) expect({ type: f.type, reply: await adaSession.call(f) }).toEqual({ type: f.type, reply: expect.objectContaining({ type: "error", code: "forbidden" }) });
  expect((await ownerConn.ok({ type: "member_list" })).members.find((m: any) => m.memberId === adm.member.memberId)).toMatchObject({ revokedAt: null });
  adaSession.close();
  // removing the admin revokes the invites it issued that still have uses
  expect(await ownerConn.ok({ type: "member_revoke", memberId: adm.member.memberId, ban: true })).toMatchObject({ banned: true, disconnected: 1 });
  expect(await adaConn.closed).toEqual({ code: 4002, reason: "banned" });
  const late = await postJson(b.url, `/v1/invites/${byAda.invite.inviteId}/claim`, claimBody({ meshId: mesh.meshId, inviteId: byAda.invite.inviteId, inviteKey: byAda.invite.inviteKey, joiner: newKey(), displayName: "zed" }));
  expect([late.status, late.body.error.code]).toEqual([410, "invite_revoked"]);
  const rec = (await ownerConn.ok({ type: "member_list" })).members.find((m: any) => m.memberId === adm.member.memberId);
  expect(rec).toMatchObject({ banned: true, revokedReason: null });
  expect(typeof rec.revokedAt).toBe("number");
  // the owner can never be removed
  expect(await ownerConn.call({ type: "member_revoke", memberId: mesh.owner.memberId, ban: false })).toMatchObject({ type: "error" });
  await closeAll(ownerConn);
});

test("audit paging and removal entries still verify with our hash code (§4.3.26, §9)", async () => {
  await using b = await startBroker();
  const { ownerConn, others } = await meshWith(b.url, ["bob", "carol"]);
  await ownerConn.ok({ type: "topic_create", name: "deploys" });
  await ownerConn.ok({ type: "member_revoke", memberId: others[0]!.member.memberId, ban: false, reason: "test" });
  const all = (await ownerConn.ok({ type: "audit_log", afterSeq: 0, limit: 500 })).entries;
  expect(verifyChain(all).valid).toBe(true);
  const page1 = (await ownerConn.ok({ type: "audit_log", afterSeq: 0, limit: 2 })).entries;
  const page2 = (await ownerConn.ok({ type: "audit_log", afterSeq: 2, limit: 2 })).entries;
  expect([...page1, ...page2]).toEqual(all.slice(0, 4));
  expect(all.map((e: any) => e.eventType)).toEqual(expect.arrayContaining(["topic_created", "member_revoked"]));
  const v = await ownerConn.ok({ type: "audit_verify" });
  expect(v).toEqual({ valid: true, entries: all.length, head: all.at(-1).hash, brokenAt: null, reason: null });
  await closeAll(ownerConn, others[1]!.conn);
});

test("invite_list in pages: next, open, one invite by id, a bad cursor, and the plain request (§4.3.23)", async () => {
  await using b = await startBroker();
  const { mesh, ownerConn, others } = await meshWith(b.url, ["bob"]); // bob's invite: used up
  const made: string[] = [];
  for (let i = 0; i < 4; i++) made.push((await ownerConn.ok(inviteFrame(mesh.owner, { maxUses: 2 }).frame)).invite.inviteId);
  await ownerConn.ok({ type: "invite_revoke", inviteId: made[1] });
  const plain = await ownerConn.ok({ type: "invite_list" });
  expect(plain.next).toBeNull();
  const ids = plain.invites.map((i: any) => i.inviteId);
  expect(ids.slice(1)).toEqual(made);
  // Two to a page: next names the last invite of a page that is not the end, null on the last.
  const p1 = await ownerConn.ok({ type: "invite_list", limit: 2 });
  const p2 = await ownerConn.ok({ type: "invite_list", limit: 2, afterInviteId: p1.next });
  const p3 = await ownerConn.ok({ type: "invite_list", limit: 2, afterInviteId: p2.next });
  expect([p1, p2, p3].map((p) => [p.invites.map((i: any) => i.inviteId), p.next])).toEqual([
    [ids.slice(0, 2), ids[1]],
    [ids.slice(2, 4), ids[3]],
    [ids.slice(4), null],
  ]);
  expect(p1.invites).toEqual(plain.invites.slice(0, 2));
  // open: neither the used-up nor the revoked one
  expect((await ownerConn.ok({ type: "invite_list", open: true })).invites.map((i: any) => i.inviteId)).toEqual([made[0], made[2], made[3]]);
  expect(await ownerConn.ok({ type: "invite_list", inviteId: made[1] })).toEqual({ invites: [plain.invites[2]], next: null });
  expect(await ownerConn.ok({ type: "invite_list", inviteId: made[1], open: true })).toEqual({ invites: [], next: null });
  // a cursor that is no invite of the mesh, and a limit out of bounds
  expect(await ownerConn.call({ type: "invite_list", afterInviteId: "inv_nosuchone" })).toMatchObject({ type: "error", code: "invalid_argument", retryable: false });
  expect(await ownerConn.call({ type: "invite_list", limit: 501 })).toMatchObject({ type: "error", code: "invalid_frame" });
  // members may not list
  expect(await others[0]!.conn.call({ type: "invite_list", open: true })).toMatchObject({ type: "error", code: "forbidden" });
  await closeAll(ownerConn, others[0]!.conn);
});

test("hook status for an offline key is stored and shown by list_peers (§6.5)", async () => {
  await using b = await startBroker({ presenceGrace: 100 } as never);
  const { mesh, ownerConn, others } = await meshWith(b.url, ["bob"]);
  const { member: bob, conn: bobConn } = others[0]!;
  await bobConn.close();
  await ownerConn.event("peer_left", (d) => d.pubkey === bob.key.pub, 3000);
  const r = await signedRequest(b.url, "POST", "/hook/set-status", JSON.stringify({ status: "dnd", summary: "away", meshId: mesh.meshId }), bob.key);
  expect(r).toEqual({ status: 200, body: { ok: true, status: "dnd", online: false } });
  const { peers } = await ownerConn.ok({ type: "list_peers" });
  expect(peers.find((p: any) => p.pubkey === bob.key.pub)).toMatchObject({ online: false, status: "dnd", summary: "away" });
  // the next presence starts with the stored dnd and summary (§2.7)
  const back = await connect(b.url, helloFrame(bob));
  const again = await ownerConn.ok({ type: "list_peers" });
  expect(again.peers.find((p: any) => p.pubkey === bob.key.pub)).toMatchObject({ online: true, status: "dnd", summary: "away" });
  await closeAll(ownerConn, back.conn);
});

test("drain: ready connections are closed with 1001 'shutting down' (§2.10)", async () => {
  const b = await startBroker();
  try {
    const mesh = await newMesh(b.url);
    const { conn } = await connect(b.url, helloFrame(mesh.owner));
    const pending = await Conn.open(b.url); // still in the hello state
    await b.stop();
    expect(await conn.closed).toEqual({ code: 1001, reason: "shutting down" });
    const p = await pending.closed;
    expect(p.code).toBe(1001);
  } finally {
    await b[Symbol.asyncDispose]().catch(() => {});
  }
});

/** §8.1 MAX_SESSIONS_PER_MEMBER (this suite reads the spec, not the source). */
const MAX_SESSIONS_PER_MEMBER = 64;

test("a member's sessions are bounded: a new one past the limit ends the longest-unseen offline one, and is refused when all are connected (§8.1)", async () => {
  await using b = await startBroker({ presenceGrace: 0 });
  const { owner, ownerConn, others } = await meshWith(b.url, ["bob"]);
  const bob = others[0]!;
  const keys = Array.from({ length: MAX_SESSIONS_PER_MEMBER }, () => newKey());
  const conns: Conn[] = [];
  for (const k of keys) conns.push((await connect(b.url, sessionHelloFrame(owner, k))).conn);
  // All connected: one more is refused, and stores nothing.
  const extra = newKey();
  const { reply } = await handshake(b.url, sessionHelloFrame(owner, extra));
  expect(reply).toMatchObject({ type: "error", code: "capacity" });
  const sessionsOf = async () => (await bob.conn.ok({ type: "list_peers" })).peers.filter((p: any) => p.kind === "session").map((p: any) => p.pubkey);
  expect((await sessionsOf()).includes(extra.pub)).toBe(false);
  // The first two go offline (the first longest ago); two new sessions end exactly those two.
  for (const c of conns.slice(0, 2)) await c.close();
  // Offline once peers hear it (presenceGrace 0): the broker has handled both closes.
  for (const k of keys.slice(0, 2)) await bob.conn.event("peer_left", (d) => d.pubkey === k.pub);
  for (const k of [newKey(), newKey()]) await connect(b.url, sessionHelloFrame(owner, k));
  const now = await sessionsOf();
  expect({ count: now.length, first: now.includes(keys[0]!.pub), second: now.includes(keys[1]!.pub), third: now.includes(keys[2]!.pub) }).toEqual({ count: MAX_SESSIONS_PER_MEMBER, first: false, second: false, third: true });
  await closeAll(ownerConn, bob.conn);
}, 60_000);
