// Scenarios 3, 4 and 5: direct messages sealed as §11.2 and opened as §11.4, de-duplication
// (§5.3), the offline queue and redelivery (§5.5), pull mode (§5.6), and session identities
// (§2.4, §2.7, §3.2, §3.3, §4.3.9, §4.3.10).
import { expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { makeAttestation, newKey, randomId, sessionHelloCanonical, sign, type Key } from "./wire.ts";
import { connect, handshake, helloFrame, sessionHelloFrame, until, type Conn, type Frame, type Member } from "./transport.ts";
import { encodeInner, openMessage, ReplayMemory, sealDirect, sealFanout, type MeshKeys } from "./envelopes.ts";
import { closeAll, meshWith } from "./fixture.ts";

const ID = /^[A-Za-z0-9_-]{8,64}$/;

/** A `send` frame carrying a §11.2 direct message from `from` (connected with `fromKey`) to `to`. */
function dm(meshId: string, fromKey: Key, to: string, body: string, o: { att?: any; replyTo?: string; clientMessageId?: string } = {}): { frame: Frame; inner: string } {
  const id = o.clientMessageId ?? randomId("cm");
  const inner = encodeInner({ v: 1, mesh: meshId, from: fromKey.pub, to, id, ts: Date.now(), kind: "text", body, ...(o.replyTo ? { replyTo: o.replyTo } : {}), ...(o.att ? { att: o.att } : {}) });
  const frame: Frame = { type: "send", to, clientMessageId: id, ...sealDirect(fromKey, to, inner) };
  if (o.replyTo) frame.replyTo = o.replyTo;
  return { frame, inner };
}

test("3. a direct message: send, push, open, ack; duplicate answer on resend", async () => {
  await using b = await startBroker();
  const { mesh, owner: alice, ownerConn: aliceConn, others } = await meshWith(b.url, ["bob"]);
  const { member: bob, conn: bobConn } = others[0]!;

  const { frame, inner } = dm(mesh.meshId, alice.key, bob.key.pub, "what does /orders return?");
  const sent = await aliceConn.ok({ ...frame, priority: "now" });
  expect(sent.messageId).toMatch(ID);
  expect(sent.duplicate).toBe(false);
  expect(typeof sent.createdAt).toBe("number");
  expect(sent.undeliverable).toEqual([]);
  expect("topicOffset" in sent).toBe(false);

  const push = await bobConn.message((m) => m.messageId === sent.messageId);
  expect(push).toEqual({
    type: "message",
    messageId: sent.messageId,
    meshId: mesh.meshId,
    kind: "direct",
    from: { memberId: alice.memberId, memberPubkey: alice.key.pub, pubkey: alice.key.pub, name: "alice" },
    to: bob.key.pub,
    priority: "now",
    clientMessageId: frame.clientMessageId,
    nonce: frame.nonce,
    ciphertext: frame.ciphertext,
    createdAt: sent.createdAt,
  });
  const opened = openMessage(push as any, [bob.key]);
  expect(encodeInner(opened)).toBe(inner);
  const memory = new ReplayMemory();
  expect(memory.fresh(opened)).toBe(true);

  // ack with an id: the result says how many entries went (§4.3.4); a second ack removes none
  expect(await bobConn.ok({ type: "ack", messageIds: [sent.messageId] })).toEqual({ acked: 1 });
  expect(await bobConn.ok({ type: "ack", messageIds: [sent.messageId] })).toEqual({ acked: 0 });

  // resend with the same clientMessageId (even another ciphertext and target): duplicate (§5.3)
  const other = dm(mesh.meshId, alice.key, alice.key.pub, "something else", { clientMessageId: frame.clientMessageId });
  const dup = await aliceConn.ok(other.frame);
  expect(dup).toEqual({ messageId: sent.messageId, duplicate: true, createdAt: sent.createdAt, undeliverable: [] });
  expect(await bobConn.sees((f) => f.type === "message", 150)).toBe(false);
  expect(await aliceConn.sees((f) => f.type === "message", 50)).toBe(false);

  // a reply carries replyTo through; the id may be an integer (§1.1)
  const reply = dm(mesh.meshId, bob.key, alice.key.pub, "JSON", { replyTo: sent.messageId });
  const r = await bobConn.call({ ...reply.frame, id: 42 });
  expect(r).toMatchObject({ type: "result", id: 42 });
  const back = await aliceConn.message((m) => m.messageId === r.data.messageId);
  expect(back.replyTo).toBe(sent.messageId);
  expect(back.priority).toBe("next"); // the default
  expect(openMessage(back as any, [alice.key]).replyTo).toBe(sent.messageId);
  aliceConn.sendFrame({ type: "ack", messageIds: [back.messageId] }); // fire-and-forget: no answer
  expect(await aliceConn.sees((f) => f.type === "result" || f.type === "error", 150)).toBe(false);

  // sending to a key nobody holds
  const nobody = dm(mesh.meshId, alice.key, newKey().pub, "hello?");
  expect(await aliceConn.call(nobody.frame)).toMatchObject({ type: "error", code: "unknown_recipient", retryable: false });
  await closeAll(aliceConn, bobConn);
});

test("4. offline queue: delivered at the next hello; an unacked push is delivered again", async () => {
  await using b = await startBroker();
  const { mesh, owner: alice, ownerConn: aliceConn, others } = await meshWith(b.url, ["bob"]);
  const bob = others[0]!.member;
  const bye = await others[0]!.conn.close();
  expect(bye.code).toBe(1000);

  const { frame } = dm(mesh.meshId, alice.key, bob.key.pub, "while you were out");
  const sent = await aliceConn.ok(frame);

  // reconnect: pending counts it; it is pushed; we do not ack and drop the connection
  const first = await connect(b.url, helloFrame(bob));
  expect(first.ack.pending).toBe(1);
  expect(first.ack.reattached).toBe(true); // back within presenceGrace (§2.7)
  const p1 = await first.conn.message();
  expect(p1.messageId).toBe(sent.messageId);
  expect(openMessage(p1 as any, [bob.key]).body).toBe("while you were out");
  await first.conn.close();

  // the claim was released at the close: the same messageId comes again (at-least-once, §5.5)
  const second = await connect(b.url, helloFrame(bob));
  expect(second.ack.pending).toBe(1);
  const p2 = await second.conn.message();
  expect(p2.messageId).toBe(sent.messageId);
  expect(p2.ciphertext).toBe(p1.ciphertext);
  expect(await second.conn.ok({ type: "ack", messageIds: [p2.messageId] })).toEqual({ acked: 1 });
  await second.conn.close();

  // acked: never again
  const third = await connect(b.url, helloFrame(bob));
  expect(third.ack.pending).toBe(0);
  expect(await third.conn.sees((f) => f.type === "message", 150)).toBe(false);
  await closeAll(aliceConn, third.conn);
});

test("4b. pull mode: nothing is pushed; fetch claims, oldest first; remaining counts the rest", async () => {
  await using b = await startBroker();
  const { mesh, owner: alice, ownerConn: aliceConn, others } = await meshWith(b.url, ["bob"]);
  const bob = others[0]!.member;
  await others[0]!.conn.close();
  const ids: string[] = [];
  for (const body of ["one", "two", "three"]) ids.push((await aliceConn.ok(dm(mesh.meshId, alice.key, bob.key.pub, body).frame)).messageId);

  const pull = await connect(b.url, helloFrame(bob, { receive: "pull" }));
  expect(pull.ack.pending).toBe(3);
  expect(await pull.conn.sees((f) => f.type === "message", 150)).toBe(false);
  const page = await pull.conn.ok({ type: "fetch", limit: 2 });
  expect(page.messages.map((m: any) => m.messageId)).toEqual(ids.slice(0, 2));
  expect(page.remaining).toBe(1);
  expect(page.messages.map((m: any) => openMessage(m, [bob.key]).body)).toEqual(["one", "two"]);
  // a second connection of the same key does not get the claimed ones (§5.5)
  const other = await connect(b.url, helloFrame(bob, { receive: "pull" }));
  const rest = await other.conn.ok({ type: "fetch" });
  expect(rest.messages.map((m: any) => m.messageId)).toEqual([ids[2]]);
  // "remaining" counts entries this connection does not hold, including the two claimed by the
  // first connection (§4.3.5), not only what another fetch could return
  expect(rest.remaining).toBe(2);
  await pull.conn.close();
  // the first connection's claims are released at its close: now the second one can fetch them
  const released = await until(async () => {
    const r = await other.conn.ok({ type: "fetch" });
    return r.messages.length ? r : undefined;
  }, 5000, "released claims");
  expect(released.messages.map((m: any) => m.messageId)).toEqual(ids.slice(0, 2));
  expect(released.remaining).toBe(0);
  await closeAll(aliceConn, pull.conn, other.conn);
});

test("5. a session identity: attestation, session_hello, DMs to and from a session key", async () => {
  await using b = await startBroker();
  const { mesh, owner: alice, ownerConn: aliceConn, others } = await meshWith(b.url, ["bob"]);
  const { member: bob, conn: bobConn } = others[0]!;
  const sKey = newKey();

  const { conn: sConn, ack } = await connect(b.url, sessionHelloFrame(alice, sKey));
  // a session acts for its parent member; its name is "<member>/<last cwd segment>" (§2.6)
  expect(ack).toMatchObject({ type: "hello_ack", memberId: alice.memberId, role: "owner", displayName: "alice/project", reattached: false, pending: 0 });
  const pj = await bobConn.event("peer_joined", (d) => d.pubkey === sKey.pub);
  expect(pj.data).toMatchObject({ memberId: alice.memberId, kind: "session", displayName: "alice/project" });
  const { peers } = await bobConn.ok({ type: "list_peers" });
  expect(peers.find((p: any) => p.pubkey === sKey.pub)).toMatchObject({ kind: "session", memberId: alice.memberId, memberPubkey: alice.key.pub, online: true });

  // bob → session key: only that session's mailbox (§5.1), readable only with the session key (§11.2)
  const toSession = dm(mesh.meshId, bob.key, sKey.pub, "hi session");
  const sent = await bobConn.ok(toSession.frame);
  const got = await sConn.message((m) => m.messageId === sent.messageId);
  expect(got).toMatchObject({ kind: "direct", to: sKey.pub, from: { memberId: bob.memberId, pubkey: bob.key.pub, memberPubkey: bob.key.pub, name: "bob" } });
  expect(openMessage(got as any, [sKey]).body).toBe("hi session");
  expect(() => openMessage(got as any, [alice.key])).toThrow(); // the member key cannot read it
  expect(await aliceConn.sees((f) => f.type === "message" && f.messageId === sent.messageId, 150)).toBe(false);
  await sConn.ok({ type: "ack", messageIds: [sent.messageId] });

  // session → bob: the inner payload carries the attestation (§11.1); bob checks it (§11.4)
  const att = makeAttestation(alice.key, sKey);
  const fromSession = dm(mesh.meshId, sKey, bob.key.pub, "from the session", { att });
  const s2 = await sConn.ok(fromSession.frame);
  const atBob = await bobConn.message((m) => m.messageId === s2.messageId);
  expect(atBob.from).toEqual({ memberId: alice.memberId, memberPubkey: alice.key.pub, pubkey: sKey.pub, name: "alice/project" });
  expect(openMessage(atBob as any, [bob.key]).att).toEqual(att);
  // the same message without att, or with another member's attestation, is refused by §11.4
  const noAtt = dm(mesh.meshId, sKey, bob.key.pub, "no att");
  expect(() => openMessage({ ...atBob, nonce: noAtt.frame.nonce, ciphertext: noAtt.frame.ciphertext } as any, [bob.key])).toThrow();
  const forged = dm(mesh.meshId, sKey, bob.key.pub, "forged", { att: makeAttestation(bob.key, sKey) });
  expect(() => openMessage({ ...atBob, nonce: forged.frame.nonce, ciphertext: forged.frame.ciphertext } as any, [bob.key])).toThrow();

  // and a member-key sender must not carry one (§11.1: att "exactly when the sender is a session")
  const withAtt = await aliceConn.ok(dm(mesh.meshId, alice.key, bob.key.pub, "member with att", { att }).frame);
  const pm = await bobConn.message((m) => m.messageId === withAtt.messageId);
  expect(() => openMessage(pm as any, [bob.key])).toThrow();

  // a DM to alice's member key reaches the member key and its live sessions (§5.1)
  const toAlice = await bobConn.ok(dm(mesh.meshId, bob.key, alice.key.pub, "to alice").frame);
  const a1 = await aliceConn.message((m) => m.messageId === toAlice.messageId);
  const a2 = await sConn.message((m) => m.messageId === toAlice.messageId);
  expect(a1.to).toBe(alice.key.pub);
  expect(a2.to).toBe(alice.key.pub);

  // de-duplication is per sending key: the member key may reuse the session's clientMessageId
  const again = dm(mesh.meshId, alice.key, bob.key.pub, "same id, other key", { clientMessageId: fromSession.frame.clientMessageId });
  expect((await aliceConn.ok(again.frame)).duplicate).toBe(false);

  // attest: a fresh attestation moves the expiry (§2.9); a member connection may not attest
  const fresh = makeAttestation(alice.key, sKey, Date.now() + 3600_000);
  expect(await sConn.ok({ type: "attest", attestation: fresh })).toEqual({ expiresAt: fresh.expiresAt });
  expect(await sConn.call({ type: "attest", attestation: makeAttestation(alice.key, sKey, Date.now() + 25 * 3600_000) })).toMatchObject({ type: "error", code: "ttl_too_long" });
  expect(await sConn.call({ type: "attest", attestation: { ...fresh, signature: fresh.signature.replace(/^./, (c) => (c === "0" ? "1" : "0")) } })).toMatchObject({ type: "error", code: "bad_attestation" });
  expect(await aliceConn.call({ type: "attest", attestation: fresh })).toMatchObject({ type: "error", code: "invalid_argument" });
  expect(await aliceConn.call({ type: "session_end" })).toMatchObject({ type: "error", code: "invalid_argument" });

  // a second session_hello for the same key replaces the connection: 4004 session_replaced (§2.7)
  const replacement = await connect(b.url, sessionHelloFrame(alice, sKey, { displayName: "alice/replacement" }));
  expect(replacement.ack.reattached).toBe(true);
  expect(replacement.ack.displayName).toBe("alice/replacement");
  expect(await sConn.closed).toEqual({ code: 4004, reason: "session_replaced" });

  // session_end: result, then close 4005 session_ended; peers hear peer_left at once (§4.3.10)
  expect(await replacement.conn.ok({ type: "session_end" })).toEqual({ ended: true });
  expect(await replacement.conn.closed).toEqual({ code: 4005, reason: "session_ended" });
  const left = await bobConn.event("peer_left", (d) => d.pubkey === sKey.pub);
  expect(left.data).toMatchObject({ memberId: alice.memberId, kind: "session" });
  // an ended session is no longer a recipient
  expect(await bobConn.call(dm(mesh.meshId, bob.key, sKey.pub, "anyone?").frame)).toMatchObject({ type: "error", code: "unknown_recipient" });
  await closeAll(aliceConn, bobConn);
});

test("5b. session_hello rejections in the documented order (§2.4)", async () => {
  await using b = await startBroker();
  const { owner: alice, ownerConn } = await meshWith(b.url, []);
  const sKey = newKey();
  const reject = async (hello: Frame) => {
    const { conn, reply } = await handshake(b.url, hello);
    const closed = await conn.closed;
    expect(reply.type).toBe("error");
    expect(reply.id).toBeUndefined();
    expect(closed).toEqual({ code: 1008, reason: reply.code });
    return reply.code as string;
  };
  const base = () => sessionHelloFrame(alice, sKey);
  // 3a attestation names another session key
  expect(await reject({ ...base(), attestation: makeAttestation(alice.key, newKey()) })).toBe("bad_attestation");
  // 3b expired
  expect(await reject({ ...base(), attestation: makeAttestation(alice.key, sKey, Date.now() - 1000) })).toBe("expired");
  // 3c more than 24 h ahead
  expect(await reject({ ...base(), attestation: makeAttestation(alice.key, sKey, Date.now() + 24 * 3600_000 + 60_000) })).toBe("ttl_too_long");
  // 3d attestation signed by another key
  const wrong = makeAttestation(newKey(), sKey);
  expect(await reject({ ...base(), attestation: { ...wrong, parentMemberPubkey: alice.key.pub } })).toBe("bad_attestation");
  // 4 the hello signed by the parent instead of the session key
  const h = base();
  // (A tampered byte would be a 1-in-256 no-op when it already held the value written: CI saw one.)
  expect(await reject({ ...h, signature: sign(sessionHelloCanonical(alice.meshId, alice.key.pub, sKey.pub, h.timestamp as number), alice.key) })).toBe("bad_signature");
  // 5 unknown parent member id
  expect(await reject({ ...sessionHelloFrame({ ...alice, memberId: "mbr_nobody_000" } as Member, sKey) })).toBe("unauthorized");
  // 6 a "session" that is the member key itself
  expect(await reject(sessionHelloFrame(alice, alice.key))).toBe("malformed");
  await closeAll(ownerConn);
});

test("5c. a session's broadcast reaches its own member key (only the sending key is left out, §5.1)", async () => {
  await using b = await startBroker();
  const { mesh, owner: alice, ownerConn: aliceConn, others } = await meshWith(b.url, ["bob"]);
  const { conn: bobConn, meshKeys: bobKeys } = others[0]!;
  const sKey = newKey();
  const { conn: sConn } = await connect(b.url, sessionHelloFrame(alice, sKey));
  const att = makeAttestation(alice.key, sKey);
  const id = randomId("cm");
  const inner = encodeInner({ v: 1, mesh: mesh.meshId, from: sKey.pub, to: "*", id, ts: Date.now(), kind: "text", body: "all hands", att });
  const sent = await sConn.ok({ type: "send", to: "*", clientMessageId: id, ...sealFanout(sKey, mesh.meshKeys.get(0)!, 0, mesh.meshId, "*", inner) });
  for (const [conn, keys] of [[aliceConn, mesh.meshKeys], [bobConn, bobKeys]] as Array<[Conn, MeshKeys]>) {
    const m = await conn.message((x) => x.messageId === sent.messageId);
    expect(m.kind).toBe("broadcast");
    expect(openMessage(m as any, [], keys).body).toBe("all hands");
  }
  expect(await sConn.sees((f) => f.type === "message", 150)).toBe(false);

  await closeAll(aliceConn, bobConn, sConn);
});
