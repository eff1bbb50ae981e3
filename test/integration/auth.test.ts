// Every handshake rejection observed on the wire: an `error` frame, then close 1008 with the
// error code as the reason, counted in broker_connections_rejected_total{reason}.
import { describe, expect, test } from "bun:test";
import { startBroker, type TestBroker } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh, sendText, type TestMember } from "../helpers/mesh.ts";
import { rawSocket } from "../helpers/raw.ts";
import { until } from "../helpers/until.ts";
import { buildHello, makeAttestation } from "../../src/client/credentials.ts";
import { BrokerClient } from "../../src/client/client.ts";
import { generateSigningKeypair, signDetached } from "../../src/crypto/sign.ts";
import { helloCanonical, sessionHelloCanonical } from "../../src/protocol/canonical.ts";

const where = { sessionId: "s-1", pid: 1, cwd: "/tmp" };

async function expectRejected(b: TestBroker, frame: unknown, reason: string) {
  const s = await rawSocket(b.url);
  s.send(frame);
  const err = await s.next();
  expect({ type: err.type, code: err.code }).toEqual({ type: "error", code: reason });
  expect(await s.closed).toEqual({ code: 1008, reason });
}

function memberHello(m: TestMember, ts = Date.now()) {
  return buildHello({ kind: "member", meshId: m.meshId, memberId: m.memberId, keys: m.keys }, where, ts);
}

async function setup() {
  const b = await startBroker({ helloTimeout: 1000 }); // short for the timeout test, long enough for a loaded host
  const { owner } = await createTestMesh(b.url);
  const bob = await addMember(b.url, owner, "bob");
  return { b, owner, bob };
}

describe("member hello", () => {
  test("each rejection reason closes with 1008 and is counted", async () => {
    const { b, bob } = await setup();
    await using _ = b;
    await expectRejected(b, memberHello(bob, Date.now() - 61_000), "timestamp_skew");
    await expectRejected(b, memberHello(bob, Date.now() + 61_000), "timestamp_skew");
    await expectRejected(b, { ...memberHello(bob), pubkey: "XYZ" }, "malformed");
    await expectRejected(b, { ...memberHello(bob), signature: "ab".repeat(10) }, "malformed");
    const wrongKey = generateSigningKeypair();
    await expectRejected(b, { ...memberHello(bob), signature: signDetached(helloCanonical(bob.meshId, bob.memberId, bob.keys.publicKey, Date.now()), wrongKey.secretKey) }, "bad_signature");
    const h = memberHello(bob);
    await expectRejected(b, { ...h, timestamp: h.timestamp + 1 }, "bad_signature");
    const stranger = generateSigningKeypair();
    await expectRejected(b, memberHello({ ...bob, keys: stranger }), "unauthorized");
    await expectRejected(b, { ...memberHello(bob), meshId: "AAAAAAAAAAAAAAAAAAAAAA" }, "bad_signature");
    const metrics = await (await fetch(`${b.url}/metrics`)).text();
    for (const reason of ["timestamp_skew", "malformed", "bad_signature", "unauthorized"]) {
      expect(metrics).toContain(`broker_connections_rejected_total{reason="${reason}"}`);
    }
  });

  test("hello_ack is always a connection's first frame, even when peers join at the same moment", async () => {
    // synchronous=full: hellos then wait on real disk flushes, so their steps interleave.
    await using b = await startBroker({ synchronous: "full" });
    const { owner } = await createTestMesh(b.url);
    const members = await Promise.all(Array.from({ length: 12 }, (_, i) => addMember(b.url, owner, `p${i}`)));
    const sockets = await Promise.all(members.map(() => rawSocket(b.url)));
    sockets.forEach((s, i) => s.send(memberHello(members[i]!)));
    const first = await Promise.all(sockets.map((s) => s.next()));
    expect(first.map((f) => f.type)).toEqual(sockets.map(() => "hello_ack"));
    for (const s of sockets) s.ws.close();
  });

  test("a captured hello is refused while the original is connected and after it left", async () => {
    const { b, bob } = await setup();
    await using _ = b;
    const captured = memberHello(bob);
    const original = await rawSocket(b.url);
    original.send(captured);
    expect((await original.next()).type).toBe("hello_ack");
    await expectRejected(b, captured, "replayed");
    original.ws.close();
    await original.closed;
    await expectRejected(b, captured, "replayed");
  });

  test("a socket without hello is closed after the hello timeout", async () => {
    const { b } = await setup();
    await using _ = b;
    const s = await rawSocket(b.url);
    expect((await s.next()).code).toBe("hello_timeout");
    expect(await s.closed).toEqual({ code: 1008, reason: "hello_timeout" });
  });

  test("a newer protocol version and a binary first frame are handshake failures", async () => {
    const { b, bob } = await setup();
    await using _ = b;
    await expectRejected(b, { ...memberHello(bob), protocolVersion: 2 }, "unsupported_version");
    const s = await rawSocket(b.url);
    s.ws.send(new Uint8Array([1, 2, 3]));
    expect((await s.next()).code).toBe("malformed");
    expect(await s.closed).toEqual({ code: 1008, reason: "malformed" });
  });

  test("a binary frame behind a hello still being admitted waits for it: invalid_frame after hello_ack, not a handshake failure", async () => {
    const { b, bob } = await setup();
    await using _ = b;
    // Admission reads the store; held up here, the binary frame arrives while the hello is pending.
    const store = b.ctx.store;
    const getMesh = store.getMesh.bind(store);
    store.getMesh = async (id) => (await Bun.sleep(100), getMesh(id));
    const s = await rawSocket(b.url);
    s.send(memberHello(bob));
    s.ws.send(new Uint8Array([1, 2, 3]));
    expect((await s.next()).type).toBe("hello_ack");
    expect(await s.next()).toMatchObject({ type: "error", code: "invalid_frame" });
    s.send({ type: "list_peers", id: "1" });
    expect(await s.next()).toMatchObject({ type: "result", id: "1" });
  });

  test("a request before hello is refused with no_hello", async () => {
    const { b } = await setup();
    await using _ = b;
    await expectRejected(b, { type: "list_peers", id: "1" }, "no_hello");
  });

  test("a removed member cannot connect (revoked) and its live sockets are closed with 4001", async () => {
    const { b, owner, bob } = await setup();
    await using _ = b;
    const admin = await connect(b.url, owner);
    const live = await rawSocket(b.url);
    live.send(memberHello(bob));
    expect((await live.next()).type).toBe("hello_ack");
    await admin.client.request("member_revoke", { memberId: bob.memberId, ban: false });
    expect((await live.closed).code).toBe(4001);
    await expectRejected(b, memberHello(bob), "revoked");
    admin.close();
  });
});

describe("session hello", () => {
  function sessionHello(m: TestMember, opts: { session?: ReturnType<typeof generateSigningKeypair>; expiresAt?: number; ts?: number; attestBy?: ReturnType<typeof generateSigningKeypair> } = {}) {
    const session = opts.session ?? generateSigningKeypair();
    const ts = opts.ts ?? Date.now();
    const att = makeAttestation(opts.attestBy ?? m.keys, session.publicKey, opts.expiresAt ?? ts + 3_600_000);
    return {
      type: "session_hello",
      meshId: m.meshId,
      parentMemberId: m.memberId,
      parentMemberPubkey: m.keys.publicKey,
      sessionPubkey: session.publicKey,
      attestation: { ...att, parentMemberPubkey: m.keys.publicKey },
      ...where,
      timestamp: ts,
      signature: signDetached(sessionHelloCanonical(m.meshId, m.keys.publicKey, session.publicKey, ts), session.secretKey),
    };
  }

  test("a session connected for longer than the message TTL stays routable", async () => {
    // Routing leaves out sessions not seen for messageTtl; a live one must keep being seen.
    await using b = await startBroker({ messageTtl: 2000, pingInterval: 400 });
    const { owner } = await createTestMesh(b.url);
    const session = generateSigningKeypair();
    const s = await rawSocket(b.url);
    s.send(sessionHello(owner, { session }));
    expect((await s.next()).type).toBe("hello_ack");
    const sender = await connect(b.url, await addMember(b.url, owner, "carol"));
    await Bun.sleep(2600); // past the TTL, and past the roster cache's reload of a changed mesh
    const r = await sendText(sender, session.publicKey, "still here?");
    expect(r.undeliverable).toEqual([]);
    const peers = await sender.client.request("list_peers", {});
    expect(peers.peers.some((p) => p.pubkey === session.publicKey)).toBe(true);
    sender.close();
    s.ws.close();
  });

  test("a valid session hello is accepted with the session as its own peer", async () => {
    const { b, bob } = await setup();
    await using _ = b;
    const s = await rawSocket(b.url);
    s.send(sessionHello(bob));
    const ack = await s.next();
    expect({ type: ack.type, memberId: ack.memberId, name: ack.displayName }).toEqual({ type: "hello_ack", memberId: bob.memberId, name: "bob/tmp" });
    s.ws.close();
  });

  test("attestation failures: expired, over 24 h, wrong key, tampered, and a captured attestation without the session secret", async () => {
    const { b, bob } = await setup();
    await using _ = b;
    const now = Date.now();
    await expectRejected(b, sessionHello(bob, { expiresAt: now - 1 }), "expired");
    await expectRejected(b, sessionHello(bob, { expiresAt: now + 25 * 3_600_000 }), "ttl_too_long");
    await expectRejected(b, sessionHello(bob, { attestBy: generateSigningKeypair() }), "bad_attestation");
    const tampered = sessionHello(bob);
    await expectRejected(b, { ...tampered, attestation: { ...tampered.attestation, expiresAt: tampered.attestation.expiresAt + 1 } }, "bad_attestation");
    // An attacker holds a victim session's attestation but not its secret key: it must sign the
    // session hello with some other key, which cannot verify as the attested session key.
    const victim = sessionHello(bob);
    const attacker = generateSigningKeypair();
    const forged = { ...victim, timestamp: now, signature: signDetached(sessionHelloCanonical(bob.meshId, bob.keys.publicKey, victim.sessionPubkey, now), attacker.secretKey) };
    await expectRejected(b, forged, "bad_signature");
    // ...or swap in its own session key, which the attestation does not name.
    await expectRejected(b, { ...victim, sessionPubkey: attacker.publicKey }, "bad_attestation");
  });

  test("a session key that is, or was, a member key, or another member's session key, is refused", async () => {
    const { b, owner, bob } = await setup();
    await using _ = b;
    const carol = await addMember(b.url, owner, "carol");
    const o = await connect(b.url, owner);
    await o.client.request("member_revoke", { memberId: bob.memberId, ban: true });
    // Carol attests banned bob's key as her session: bob would be back under carol's name.
    await expectRejected(b, sessionHello(carol, { session: bob.keys }), "unauthorized");
    // ...or the owner's key, which carol cannot sign for anyway, but the rule is about keys.
    await expectRejected(b, sessionHello(carol, { session: owner.keys }), "unauthorized");
    // A session key stays with the member that first used it.
    const session = generateSigningKeypair();
    const first = await rawSocket(b.url);
    first.send(sessionHello(owner, { session }));
    expect((await first.next()).type).toBe("hello_ack");
    first.ws.close();
    await expectRejected(b, sessionHello(carol, { session }), "unauthorized");
    // Nothing reached the banned key meanwhile: a DM to it is still refused.
    await expect(sendText(o, bob.keys.publicKey, "for bob's old key")).rejects.toMatchObject({ code: "unknown_recipient" });
    o.close();
  });

  test("session_end retires the session: close 4005, and the client does not reconnect", async () => {
    const { b, bob } = await setup();
    await using _ = b;
    const states: string[] = [];
    const client = new BrokerClient({
      url: b.url,
      credentials: { kind: "session", meshId: bob.meshId, memberId: bob.memberId, memberKeys: bob.keys, sessionKeys: generateSigningKeypair() },
      where,
      onState: (s, d) => states.push(`${s}:${d.code ?? ""}`),
    });
    await client.connect();
    expect(await client.request("session_end", {})).toEqual({ ended: true });
    await until(() => states.length > 1, "the close after session_end");
    expect(states).toEqual(["open:", "closed:4005"]);
  });

  test("a newer connection of the same session replaces the older one (4004)", async () => {
    const { b, bob } = await setup();
    await using _ = b;
    const session = generateSigningKeypair();
    const first = await rawSocket(b.url);
    first.send(sessionHello(bob, { session }));
    expect((await first.next()).type).toBe("hello_ack");
    const second = await rawSocket(b.url);
    second.send(sessionHello(bob, { session }));
    expect((await second.next()).type).toBe("hello_ack");
    expect(await first.closed).toEqual({ code: 4004, reason: "session_replaced" });
    second.ws.close();
  });
});
