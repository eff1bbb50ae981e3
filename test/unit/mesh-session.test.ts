// MeshSession rules the security write-up relies on: mesh keys are accepted only from the owner;
// replays are dropped; history display neither consumes nor needs the replay memory; a session
// reads DMs sent to its member key; key requests are recognised.
import { describe, expect, setSystemTime, test } from "bun:test";
import { MAX_SEND_BODY_BYTES, MeshSession, keysBody, makeMeshKey, type Identity } from "../../src/client/mesh-session.ts";
import { KEYS_ASK_INTERVAL_MS, type KeysAsked } from "../../src/client/key-request.ts";
import { meshKeyList } from "../../src/client/mesh-key-list.ts";
import { generateSigningKeypair, type SigningKeypair } from "../../src/crypto/sign.ts";
import { ReplayGuard, sealEnvelope } from "../../src/crypto/envelope.ts";
import { makeAttestation } from "../../src/client/credentials.ts";
import { BROKER_SENDER, type MessagePushFrame } from "../../src/protocol/server-frames.ts";

const MESH = "mesh-unit-session";
const owner = generateSigningKeypair();
const alice = generateSigningKeypair();
const mallory = generateSigningKeypair();
const key0 = makeMeshKey(0);

const ident = (kp: SigningKeypair, extra: Partial<Identity> = {}): Identity => ({ meshId: MESH, publicKey: kp.publicKey, secretKey: kp.secretKey, memberPubkey: kp.publicKey, memberSecretKey: kp.secretKey, ownerPubkey: owner.publicKey, ...extra });

/** What the broker would push for a message sealed by `from` (member sender). */
function push(from: MeshSession, to: string, body: string, kind: "text" | "keys" | "system" = "text"): MessagePushFrame {
  const sealed = from.seal(to, body, kind);
  const isKey = /^[0-9a-f]{64}$/.test(to);
  return {
    type: "message", messageId: `msg-${sealed.clientMessageId}`, meshId: MESH, kind: isKey ? "direct" : to === "*" ? "broadcast" : to.startsWith("#") ? "topic" : "group",
    from: { memberId: "member-x-01", memberPubkey: from.id.memberPubkey, pubkey: from.id.publicKey, name: "x" }, to, priority: "next", clientMessageId: sealed.clientMessageId,
    nonce: sealed.nonce, ciphertext: sealed.ciphertext, createdAt: Date.now(),
  };
}

describe("MeshSession", () => {
  test("after a rotation it refuses to post under an older mesh key until the new key was read", async () => {
    // A fake client: the broker's hello_ack says the mesh is at epoch 1 (mallory was removed).
    const sent: unknown[] = [];
    const client = { ack: { mesh: { keyEpoch: 1 } }, request: async (_t: string, p: unknown) => (sent.push(p), { messageId: "m", duplicate: false, createdAt: 0, undeliverable: [] }) } as never;
    const me = new MeshSession(ident(alice), [key0]);
    await expect(me.send(client, "#general", "posted after mallory was kicked")).rejects.toMatchObject({ code: "forbidden", message: expect.stringContaining("rotated to epoch 1") });
    await expect(me.send(client, "*", "to everyone")).rejects.toMatchObject({ code: "forbidden", message: expect.not.stringContaining("asked for it again") });
    // Nothing was posted; the owner was asked for the keys again, once (the rotation's message may
    // have been lost, or refused as coming from an owner session that has expired since).
    const fromOwner = new MeshSession(ident(owner), [key0]);
    expect(sent.map((f) => (f as { to: string }).to)).toEqual([owner.publicKey]);
    // The interval between asks runs on the monotonic clock: a wall clock stepped (here forward
    // past the interval; back, it would have kept the member from asking for the step) changes nothing.
    setSystemTime(new Date(Date.now() + 11 * 60_000));
    try {
      await expect(me.send(client, "*", "after a clock step")).rejects.toMatchObject({ code: "forbidden", message: expect.not.stringContaining("asked for it again") });
    } finally {
      setSystemTime();
    }
    expect(sent.length).toBe(1);
    // (Its sender untraced here: no member list was read, only sendersRead says it was.)
    const request = fromOwner.open({ ...push(me, owner.publicKey, "x"), ...(sent[0] as object), kind: "direct", from: { memberId: "m-alice", memberPubkey: alice.publicKey, pubkey: alice.publicKey, name: "alice" } } as MessagePushFrame, { sendersRead: true });
    expect(request).toMatchObject({ ok: true, control: "key_request" });
    await me.send(client, owner.publicKey, "a DM needs no mesh key"); // crypto_box: not affected
    expect(me.open(push(fromOwner, alice.publicKey, keysBody([key0, makeMeshKey(1)]), "keys"))).toMatchObject({ ok: true, control: "keys" });
    await me.send(client, "#general", "now under epoch 1");
    expect(sent.length).toBe(3);
  });

  test("keys from the owner are applied; the same message from another member is dropped, not shown", () => {
    const received: number[][] = [];
    const me = new MeshSession(ident(alice), [key0], { onKeys: (k) => received.push(k.map((x) => x.epoch)) });
    const fromOwner = new MeshSession(ident(owner), [key0]);
    const fromMallory = new MeshSession(ident(mallory), [key0]);
    const evil = me.open(push(fromMallory, alice.publicKey, keysBody([makeMeshKey(7)]), "keys"), { sendersRead: true });
    // Shown as text it would put a key list in front of the reader (and an agent) as a message.
    expect(evil).toMatchObject({ ok: false, reason: "keys_refused" });
    expect(me.meshKeys.map((k) => k.epoch)).toEqual([0]);
    const good = me.open(push(fromOwner, alice.publicKey, keysBody([key0, makeMeshKey(1)]), "keys"));
    expect(good.ok && good.control).toBe("keys");
    expect({ epochs: me.meshKeys.map((k) => k.epoch), received }).toEqual({ epochs: [0, 1], received: [[0, 1]] });
  });

  test("keys from an owner session count only while its attestation is valid by the reader's clock, whatever time the message claims", () => {
    const session = generateSigningKeypair();
    const keysFrom = (att: ReturnType<typeof makeAttestation>, ts: number, epoch: number): MessagePushFrame => {
      const sealed = sealEnvelope({ mesh: MESH, from: session.publicKey, to: alice.publicKey, id: `keys-epoch-${epoch}`, ts, kind: "keys", body: keysBody([makeMeshKey(epoch)]), att }, { mySecret: session.secretKey });
      return { type: "message", messageId: `msg-${epoch}`, meshId: MESH, kind: "direct", from: { memberId: "member-owner", memberPubkey: owner.publicKey, pubkey: session.publicKey, name: "owner/app" }, to: alice.publicKey, priority: "now", clientMessageId: `keys-epoch-${epoch}`, nonce: sealed.nonce, ciphertext: sealed.ciphertext, createdAt: Date.now() };
    };
    const me = new MeshSession(ident(alice), [key0]);
    // A session key that leaked after its attestation expired, its message dated before the expiry.
    const expired = makeAttestation(owner, session.publicKey, Date.now() - 3_600_000);
    // Set aside as stale, not as a forgery: an honest one read late looks the same.
    expect(me.open(keysFrom(expired, expired.expiresAt - 60_000, 9))).toMatchObject({ ok: false, reason: "keys_stale" });
    expect(me.meshKeys.map((k) => k.epoch)).toEqual([0]);
    const valid = makeAttestation(owner, session.publicKey, Date.now() + 3_600_000);
    expect(me.open(keysFrom(valid, Date.now(), 1))).toMatchObject({ ok: true, control: "keys" });
    expect(me.meshKeys.map((k) => k.epoch)).toEqual([0, 1]);
  });

  test("after a stale keys message, a member behind the mesh's epoch asks the owner again, at most once per interval", async () => {
    const sent: { to: string }[] = [];
    const client = (epoch: number) => ({ ack: { mesh: { keyEpoch: epoch } }, request: async (_t: string, p: { to: string }) => (sent.push(p), { messageId: "m", duplicate: false, createdAt: 0, undeliverable: [] }) }) as never;
    const me = new MeshSession(ident(alice), [key0]);
    expect(await me.askIfBehind(client(0))).toBe(false); // holds the mesh's epoch: nothing to ask
    expect(await me.askIfBehind(client(1))).toBe(true);
    expect(await me.askIfBehind(client(1))).toBe(false); // throttled
    expect(sent.map((p) => p.to)).toEqual([owner.publicKey]);
    // The owner has nobody to ask.
    expect(await new MeshSession(ident(owner), [key0]).askIfBehind(client(1))).toBe(false);
  });

  test("a key request is noted for the machine, and not made again for that epoch within the interval; one not sent is not noted", async () => {
    let sent = 0;
    let fail = false;
    const client = (epoch: number) => ({ ack: { mesh: { keyEpoch: epoch } }, request: async () => (fail ? Promise.reject(new Error("gone")) : (sent++, { messageId: "m", duplicate: false, createdAt: 0, undeliverable: [] })) }) as never;
    let note: KeysAsked | undefined;
    const memory = { last: () => note, asked: async (n: KeysAsked) => void (note = n) };
    const machine = () => new MeshSession(ident(alice), [key0], { keysAsked: memory });
    fail = true;
    expect(await machine().askIfBehind(client(1))).toBe(false);
    expect({ sent, note }).toEqual({ sent: 0, note: undefined });
    fail = false;
    const first = machine();
    expect(await first.askIfBehind(client(1))).toBe(true); // the failure held nothing back
    expect(note).toEqual({ epoch: 1, at: expect.any(Number) });
    expect(await machine().askIfBehind(client(1))).toBe(false); // another process of the machine
    expect(await machine().askIfBehind(client(2))).toBe(true); // a later rotation: asked for it
    note = { epoch: 2, at: Date.now() - KEYS_ASK_INTERVAL_MS }; // the interval passed: a lost one is made again
    expect(await machine().askIfBehind(client(2))).toBe(true);
    note = { epoch: 2, at: Date.now() + 60_000 }; // a clock set back past the note
    expect(await machine().askIfBehind(client(2))).toBe(true);
    expect(sent).toBe(4);
  });

  test("a replayed push is dropped; history display works repeatedly", () => {
    const me = new MeshSession(ident(alice), [key0]);
    const sender = new MeshSession(ident(owner), [key0]);
    const p = push(sender, "#general", "hello");
    expect(me.open(p).ok).toBe(true);
    expect(me.open(p)).toEqual({ ok: false, reason: "replayed", messageId: p.messageId });
    const again = me.openForDisplay(p);
    expect(again.ok && again.message.body).toBe("hello");
    expect(me.openForDisplay(p).ok).toBe(true);
  });

  test("a system push is taken only from the broker's own sender, shown under its name, and kept out of the replay memory", () => {
    const me = new MeshSession(ident(alice), [key0], { replay: new ReplayGuard(MESH, { maxEntries: 10 }) });
    const broker: MessagePushFrame["from"] = { memberId: BROKER_SENDER.memberId, memberPubkey: BROKER_SENDER.pubkey, pubkey: BROKER_SENDER.pubkey, name: "alice" };
    const notice = (n: number, from: MessagePushFrame["from"] = broker): MessagePushFrame => ({
      type: "message", messageId: `msg-notice-${n}`, meshId: MESH, kind: "system", from, to: alice.publicKey, priority: "low", clientMessageId: `expired-msg-${n}`,
      nonce: "", ciphertext: "", createdAt: Date.now(), notice: { event: "message_expired", messageId: `msg-${n}` },
    });
    // A notice naming a member as its sender is forged: refused, never shown as that member's words.
    const forged = notice(0, { memberId: "member-owner-1", memberPubkey: owner.publicKey, pubkey: owner.publicKey, name: "owner" });
    expect(me.open(forged)).toEqual({ ok: false, reason: "forged_notice", messageId: forged.messageId });
    const real = me.open(notice(1));
    expect(real.ok && real.message.from).toEqual({ name: BROKER_SENDER.name, pubkey: BROKER_SENDER.pubkey, memberPubkey: BROKER_SENDER.pubkey, memberId: BROKER_SENDER.memberId });
    expect(me.open(notice(1))).toMatchObject({ ok: false, reason: "replayed" });
    // A peer's message, then a flood of notices: the message is still remembered, its replay dropped.
    const p = push(new MeshSession(ident(owner), [key0]), "#general", "deploy to prod now");
    expect(me.open(p).ok).toBe(true);
    for (let n = 2; n < 100; n++) me.open(notice(n)); // ten times what the replay memory holds
    expect(me.open(p)).toEqual({ ok: false, reason: "replayed", messageId: p.messageId });
  });

  test("a session reads DMs to its member key and to its own key", () => {
    const sessionKeys = generateSigningKeypair();
    const session = new MeshSession(ident(sessionKeys, { memberPubkey: alice.publicKey, memberSecretKey: alice.secretKey }), [key0]);
    const sender = new MeshSession(ident(owner), [key0]);
    const toMember = session.open(push(sender, alice.publicKey, "to alice"));
    const toSession = session.open(push(sender, sessionKeys.publicKey, "to this session"));
    expect([toMember.ok && toMember.message.body, toSession.ok && toSession.message.body]).toEqual(["to alice", "to this session"]);
  });

  test("a key request is recognised as control, not text", () => {
    const ownerSession = new MeshSession(ident(owner), [key0]);
    const joiner = new MeshSession(ident(alice), []);
    const r = ownerSession.open(push(joiner, owner.publicKey, JSON.stringify({ request: "keys" }), "system"), { sendersRead: true });
    expect(r.ok && r.control).toBe("key_request");
  });

  test("without a mesh key a member cannot post to a topic; bodies over the frame budget are refused", () => {
    const me = new MeshSession(ident(alice), []);
    expect(() => me.seal("#general", "x")).toThrow("no mesh key");
    const keyed = new MeshSession(ident(alice), [key0]);
    expect(() => keyed.seal("#general", "x".repeat(70_000))).toThrow("limit");
  });

  test("a body under the byte limit whose sealed form outgrows the send frame's ciphertext bound is refused before sending", () => {
    const keyed = new MeshSession(ident(alice), [key0]);
    // Line breaks pass the body check as one byte each and are two in the inner JSON.
    expect(() => keyed.seal(owner.publicKey, "\n".repeat(23_100))).toThrow(/too long once encrypted/);
    // Quotes double in the inner JSON, and again in the fan-out wrapper's escaped copy of it.
    expect(() => keyed.seal("#general", '"'.repeat(12_000))).toThrow(/too long once encrypted/);
    // The largest plain text fits to any target.
    for (const to of [owner.publicKey, "#general", "*"]) expect(() => keyed.seal(to, "x".repeat(MAX_SEND_BODY_BYTES), "text", { replyTo: "r".repeat(64) })).not.toThrow();
    expect(() => keyed.seal(owner.publicKey, "x".repeat(MAX_SEND_BODY_BYTES + 1))).toThrow("limit");
  });
});

describe("meshKeyList: the keys a keys message or an invite may hand over", () => {
  const key = makeMeshKey(0).key;
  test("well-formed keys pass; a duplicate epoch, an epoch out of range, a key not 32 bytes, or not a list, do not", () => {
    expect(meshKeyList([{ epoch: 0, key }, { epoch: 3, key }])).toEqual([{ epoch: 0, key }, { epoch: 3, key }]);
    expect(meshKeyList([])).toEqual([]);
    for (const bad of [[{ epoch: 1, key }, { epoch: 1, key }], [{ epoch: -1, key }], [{ epoch: 1.5, key }], [{ epoch: 2 ** 40, key }], [{ epoch: 0, key: key.slice(4) }], [{ epoch: 0, key: "not base64!" }], [{ epoch: 0 }], [null], { epoch: 0, key }, "keys"]) {
      expect({ bad, out: meshKeyList(bad) }).toEqual({ bad, out: null });
    }
  });
});
