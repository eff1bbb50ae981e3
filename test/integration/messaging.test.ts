// Delivery semantics with a real broker on port 0: hello → send → push → ack, the offline queue,
// FIFO, de-duplication, broadcast/topic fan-out to offline members, priority gating, claims.
import { describe, expect, test } from "bun:test";
import { brokerClock, startBroker } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh, envelope, sendText, textOf } from "../helpers/mesh.ts";
import { until } from "../helpers/until.ts";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";
import { attestationSignatureValid } from "../../src/crypto/attestation.ts";
import { makeAttestation } from "../../src/client/credentials.ts";
import { BROKER_SENDER, sweepRound } from "../../src/broker/timers.ts";

describe("direct messages", () => {
  test("hello → send → push → ack; the sender's result names the stored message", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url, "alice");
    const bob = await addMember(b.url, owner, "bob");
    const a = await connect(b.url, owner);
    const bb = await connect(b.url, bob);
    const res = await sendText(a, bob.keys.publicKey, "hi bob");
    expect(res.duplicate).toBe(false);
    const [m] = await bb.waitMessages(1);
    expect({ id: m!.messageId, kind: m!.kind, from: m!.from.pubkey, name: m!.from.name, text: textOf(m!) }).toEqual({
      id: res.messageId,
      kind: "direct",
      from: owner.keys.publicKey,
      name: "alice",
      text: "hi bob",
    });
    expect(await bb.client.ackSync([m!.messageId])).toEqual({ acked: 1 });
    expect((await bb.client.request("fetch", {})).messages).toEqual([]);
    a.close();
    bb.close();
  });

  test("messages to an offline member are queued and delivered in order when it returns", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const a = await connect(b.url, owner);
    for (let i = 0; i < 20; i++) await sendText(a, bob.keys.publicKey, `m${i}`);
    const bb = await connect(b.url, bob);
    expect(bb.ack.pending).toBe(20);
    const got = await bb.waitMessages(20);
    expect(got.map(textOf)).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
    a.close();
    bb.close();
  });

  test("a retried clientMessageId is stored once and acked with the same id", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const a = await connect(b.url, owner);
    const first = await sendText(a, bob.keys.publicKey, "once", { clientMessageId: "retry-me-0001" });
    const again = await sendText(a, bob.keys.publicKey, "once", { clientMessageId: "retry-me-0001" });
    expect(again).toEqual({ ...first, duplicate: true });
    await sendText(a, bob.keys.publicKey, "later");
    const bb = await connect(b.url, bob);
    // A duplicate would come before the later message (a mailbox is delivered in order).
    expect((await bb.waitMessages(2)).map(textOf)).toEqual(["once", "later"]);
    a.close();
    bb.close();
  });

  test("unacked messages are redelivered after a reconnect; acked ones never", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const a = await connect(b.url, owner);
    await sendText(a, bob.keys.publicKey, "one");
    await sendText(a, bob.keys.publicKey, "two");
    const first = await connect(b.url, bob);
    const got = await first.waitMessages(2);
    await first.client.ackSync([got[0]!.messageId]);
    first.close();
    const second = await connect(b.url, bob);
    const again = await second.waitMessages(1);
    expect(again.map(textOf)).toEqual(["two"]);
    a.close();
    second.close();
  });

  test("two connections of one identity never hold the same message", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const a = await connect(b.url, owner);
    for (let i = 0; i < 200; i++) await sendText(a, bob.keys.publicKey, `m${i}`);
    const [x, y] = await Promise.all([connect(b.url, bob, { receive: "pull" }), connect(b.url, bob, { receive: "pull" })]);
    const [fx, fy] = await Promise.all([x.client.request("fetch", { limit: 150 }), y.client.request("fetch", { limit: 150 })]);
    const ids = [...fx.messages, ...fy.messages].map((m) => m.messageId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(200);
    a.close();
    x.close();
    y.close();
  });

  test("a fetch page stops at about a frame's worth of bytes; reading on gets the rest, in order", async () => {
    await using b = await startBroker(); // maxFrameBytes 64 KiB
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const a = await connect(b.url, owner);
    for (let i = 0; i < 5; i++) await sendText(a, bob.keys.publicKey, `<m${i}> ${"x".repeat(40_000)}`); // ~54 KB sealed
    const reader = await connect(b.url, bob, { receive: "pull" });
    const pages: { got: string[]; remaining: number }[] = [];
    for (;;) {
      const page = await reader.client.request("fetch", { limit: 500 });
      if (page.messages.length === 0) break;
      pages.push({ got: page.messages.map((m) => textOf(m).slice(0, 4)), remaining: page.remaining });
    }
    // Each page ends with the message that reached 64 KiB of ciphertext: two of ~54 KB.
    expect(pages).toEqual([
      { got: ["<m0>", "<m1>"], remaining: 3 },
      { got: ["<m2>", "<m3>"], remaining: 1 },
      { got: ["<m4>"], remaining: 0 },
    ]);
    a.close();
    reader.close();
  });

  test("messages that expire undelivered come back to their sender as message_expired notices", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url, "alice");
    const bob = await addMember(b.url, owner, "bob"); // never connects
    const a = await connect(b.url, owner);
    const sent = [];
    for (const text of ["one", "two"]) sent.push(await a.client.request("send", { to: bob.keys.publicKey, clientMessageId: `expiring-${text}-00`, ttlMs: 1000, ...envelope(text) }));
    brokerClock(b, 1100); // past their TTL by the broker's clock: the sweep expires them
    await sweepRound(b.ctx);
    const notices = await a.waitMessages(2);
    expect(notices.map((m) => ({ kind: m.kind, from: m.from.pubkey, notice: m.notice }))).toEqual(
      sent.map((r, i) => ({
        kind: "system",
        from: BROKER_SENDER.pubkey,
        notice: { event: "message_expired", messageId: r.messageId, clientMessageId: `expiring-${["one", "two"][i]}-00`, to: bob.keys.publicKey },
      })),
    );
    a.close();
  });

  test("an unknown recipient key is refused with unknown_recipient", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const a = await connect(b.url, owner);
    await expect(sendText(a, "ab".repeat(32), "x")).rejects.toMatchObject({ code: "unknown_recipient" });
    a.close();
  });
});

describe("fan-out", () => {
  test("broadcast reaches online and offline members, not the sender", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const carol = await addMember(b.url, owner, "carol");
    const a = await connect(b.url, owner);
    const bb = await connect(b.url, bob);
    await sendText(a, "*", "main is red");
    expect(textOf((await bb.waitMessages(1))[0]!)).toBe("main is red");
    const cc = await connect(b.url, carol);
    const [m] = await cc.waitMessages(1);
    expect({ kind: m!.kind, to: m!.to, text: textOf(m!) }).toEqual({ kind: "broadcast", to: "*", text: "main is red" });
    // Pushed to alice, the broadcast would come before a later message to her.
    await sendText(bb, owner.keys.publicKey, "seen it");
    expect((await a.waitMessages(1)).map(textOf)).toEqual(["seen it"]);
    for (const p of [a, bb, cc]) p.close();
  });

  test("#general posts carry increasing offsets and history returns exactly the gap", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const a = await connect(b.url, owner);
    const offsets: number[] = [];
    for (let i = 1; i <= 5; i++) offsets.push((await sendText(a, "#general", `post ${i}`)).topicOffset!);
    expect(offsets).toEqual([1, 2, 3, 4, 5]);
    const bb = await connect(b.url, bob);
    const pushed = await bb.waitMessages(5);
    expect(pushed.map((m) => [m.topic, m.topicOffset])).toEqual([1, 2, 3, 4, 5].map((o) => ["general", o]));
    const gap = await bb.client.request("topic_history", { topic: "general", afterOffset: 3 });
    expect(gap.historyLost).toBe(false);
    expect(gap.messages.map(textOf)).toEqual(["post 4", "post 5"]);
    a.close();
    bb.close();
  });

  test("topic history beyond retention answers history_lost", async () => {
    await using b = await startBroker({ topicHistory: 3 });
    const { owner } = await createTestMesh(b.url);
    const a = await connect(b.url, owner);
    for (let i = 1; i <= 6; i++) await sendText(a, "#general", `p${i}`);
    const r = await a.client.request("topic_history", { topic: "general", afterOffset: 1 });
    expect({ lost: r.historyLost, last: r.lastOffset, earliest: r.earliestOffset }).toEqual({ lost: true, last: 6, earliest: 4 });
    const ok = await a.client.request("topic_history", { topic: "general", afterOffset: 3 });
    expect(ok.messages.map(textOf)).toEqual(["p4", "p5", "p6"]);
    a.close();
  });

  test("a reader ahead of the topic (a broker restored from an older backup) is told history was lost", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const a = await connect(b.url, owner);
    await sendText(a, "#general", "only post");
    // The reader saw offsets up to 5 before the restore; the next posts here reuse 2..5.
    const r = await a.client.request("topic_history", { topic: "general", afterOffset: 5 });
    expect({ lost: r.historyLost, last: r.lastOffset, earliest: r.earliestOffset, messages: r.messages.length }).toEqual({ lost: true, last: 1, earliest: 1, messages: 0 });
    expect((await a.client.request("topic_history", { topic: "general", afterOffset: 1 })).historyLost).toBe(false);
    a.close();
  });

  test("posting to a topic you have not joined is forbidden", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const a = await connect(b.url, owner);
    await a.client.request("topic_create", { name: "backend" });
    const bb = await connect(b.url, bob);
    await expect(sendText(bb, "#backend", "hi")).rejects.toMatchObject({ code: "forbidden" });
    await bb.client.request("topic_join", { topic: "backend" });
    await sendText(bb, "#backend", "hi");
    expect(textOf((await a.waitMessages(1))[0]!)).toBe("hi");
    a.close();
    bb.close();
  });

  test("@group reaches its members only", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const carol = await addMember(b.url, owner, "carol");
    const [a, bb, cc] = await Promise.all([connect(b.url, owner), connect(b.url, bob), connect(b.url, carol)]);
    await bb.client.request("group_join", { group: "backend" });
    await expect(sendText(a, "@frontend", "x")).rejects.toMatchObject({ code: "unknown_recipient" });
    await sendText(a, "@backend", "deploy done");
    expect(textOf((await bb.waitMessages(1))[0]!)).toBe("deploy done");
    // Pushed to carol, the group message would come before a later message to her.
    await sendText(a, carol.keys.publicKey, "not in the group");
    expect((await cc.waitMessages(1)).map(textOf)).toEqual(["not in the group"]);
    for (const p of [a, bb, cc]) p.close();
  });
});

describe("priority gating", () => {
  test("working holds next and low; now passes; idle releases the held ones in order", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const a = await connect(b.url, owner);
    const bb = await connect(b.url, bob);
    await bb.client.request("set_status", { status: "working" });
    await sendText(a, bob.keys.publicKey, "later-1", { priority: "next" });
    await sendText(a, bob.keys.publicKey, "later-2", { priority: "low" });
    await sendText(a, bob.keys.publicKey, "urgent", { priority: "now" });
    expect(textOf((await bb.waitMessages(1))[0]!)).toBe("urgent");
    await Bun.sleep(50); // proves the held ones stay held, not let out a moment after "urgent"
    expect(bb.messages.length).toBe(1);
    await bb.client.request("set_status", { status: "idle" });
    expect((await bb.waitMessages(3)).map(textOf)).toEqual(["urgent", "later-1", "later-2"]);
    a.close();
    bb.close();
  });

  test("fetch ignores gating: an explicit read returns held messages", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const a = await connect(b.url, owner);
    const bb = await connect(b.url, bob);
    await bb.client.request("set_status", { status: "dnd" });
    await sendText(a, bob.keys.publicKey, "held");
    const r = await bb.client.request("fetch", {});
    expect(r.messages.map(textOf)).toEqual(["held"]);
    a.close();
    bb.close();
  });
});

describe("presence", () => {
  test("peers see join, status and leave events; a reconnect within grace is silent", async () => {
    // A grace long enough for the reconnect below on a loaded CI host.
    await using b = await startBroker({ presenceGrace: 1500 });
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const a = await connect(b.url, owner);
    const bb = await connect(b.url, bob, { cwd: "/home/bob/api" });
    await a.waitEvent((e) => e.event === "peer_joined" && e.data.pubkey === bob.keys.publicKey);
    await bb.client.request("set_summary", { summary: "fixing /orders" });
    const st = await a.waitEvent((e) => e.event === "peer_status");
    expect(st.data).toMatchObject({ pubkey: bob.keys.publicKey, summary: "fixing /orders" });
    bb.close();
    const again = await connect(b.url, bob);
    expect(again.ack.reattached).toBe(true);
    await Bun.sleep(1700); // the grace running out for real: a reattached session must not be reported as left
    expect(a.events.filter((e) => e.event === "peer_left" || e.event === "peer_joined").length).toBe(1);
    again.close();
    await a.waitEvent((e) => e.event === "peer_left", 5000);
    const peers = await a.client.request("list_peers", {});
    const bobRow = peers.peers.find((p) => p.pubkey === bob.keys.publicKey)!;
    expect({ online: bobRow.online, summary: bobRow.summary, seen: bobRow.lastSeenAt !== null }).toEqual({ online: false, summary: "fixing /orders", seen: true });
    a.close();
  });

  test("list_peers names each member's groups, sorted; a session shows its member's", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const carol = await addMember(b.url, owner, "carol");
    const [a, bb] = await Promise.all([connect(b.url, owner), connect(b.url, bob)]);
    for (const group of ["backend", "api"]) await bb.client.request("group_join", { group });
    await a.client.request("group_join", { group: "ops" });
    const sessionKeys = generateSigningKeypair();
    const s = await connect(b.url, bob, {}, { credentials: { kind: "session", meshId: bob.meshId, memberId: bob.memberId, memberKeys: bob.keys, sessionKeys } });
    const { peers } = await a.client.request("list_peers", {});
    expect(Object.fromEntries(peers.map((p) => [p.pubkey, p.groups]))).toEqual({
      [owner.keys.publicKey]: ["ops"],
      [bob.keys.publicKey]: ["api", "backend"],
      [sessionKeys.publicKey]: ["api", "backend"],
      [carol.keys.publicKey]: [],
    });
    for (const p of [a, bb, s]) p.close();
  });

  test("a peer that just left shows when it left, during the presence grace and after it", async () => {
    await using b = await startBroker({ presenceGrace: 300 });
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const a = await connect(b.url, owner);
    const bb = await connect(b.url, bob);
    const before = Date.now();
    bb.close();
    const bobRow = async () => (await a.client.request("list_peers", {})).peers.find((p) => p.pubkey === bob.keys.publicKey)!;
    let inGrace = await bobRow();
    await until(async () => !(inGrace = await bobRow()).online, "bob offline");
    expect({ online: inGrace.online, left: inGrace.lastSeenAt! >= before && inGrace.lastSeenAt! <= Date.now() }).toEqual({ online: false, left: true });
    await a.waitEvent((e) => e.event === "peer_left");
    expect((await bobRow()).lastSeenAt).toBe(inGrace.lastSeenAt); // the disconnect, not the grace's end
    a.close();
  });

  test("list_peers shows each session's attestation, the newest it presented, online or not", async () => {
    await using b = await startBroker({ presenceGrace: 100 });
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const a = await connect(b.url, owner);
    const sessionKeys = generateSigningKeypair();
    const s = await connect(b.url, bob, {}, { credentials: { kind: "session", meshId: bob.meshId, memberId: bob.memberId, memberKeys: bob.keys, sessionKeys } });
    const listed = async () => (await a.client.request("list_peers", {})).peers;
    const first = (await listed()).find((p) => p.pubkey === sessionKeys.publicKey)!.attestation!;
    expect(first).toMatchObject({ sessionPubkey: sessionKeys.publicKey, parentMemberPubkey: bob.keys.publicKey });
    expect(attestationSignatureValid(first)).toBe(true);
    expect((await listed()).filter((p) => p.kind === "member").map((p) => p.attestation)).toEqual([null, null]);
    const newer = makeAttestation(bob.keys, sessionKeys.publicKey, first.expiresAt + 60_000);
    await s.client.request("attest", { attestation: newer });
    expect((await listed()).find((p) => p.pubkey === sessionKeys.publicKey)!.attestation).toEqual(newer);
    s.close();
    await a.waitEvent((e) => e.event === "peer_left" && e.data.pubkey === sessionKeys.publicKey);
    const offline = (await listed()).find((p) => p.pubkey === sessionKeys.publicKey)!;
    expect({ online: offline.online, attestation: offline.attestation }).toEqual({ online: false, attestation: newer });
    a.close();
  });

  test("a member's whereabouts are its longest-lived connection's: a one-shot command elsewhere does not move them", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const a = await connect(b.url, owner);
    const long = await connect(b.url, bob, { cwd: "/home/bob/project", hostname: "bob-laptop" });
    const where = async () => {
      const { peers } = await a.client.request("list_peers", {});
      const row = peers.find((p) => p.pubkey === bob.keys.publicKey)!;
      return { cwd: row.cwd, hostname: row.hostname };
    };
    const oneShot = await connect(b.url, bob, { cwd: "/tmp/elsewhere", hostname: "other-box" });
    expect(await where()).toEqual({ cwd: "/home/bob/project", hostname: "bob-laptop" });
    const bobsConns = () => b.ctx.hub.get(bob.meshId, bob.keys.publicKey)?.conns.size ?? 0;
    oneShot.close();
    await until(() => bobsConns() === 1, "the broker to handle the one-shot's close");
    expect(await where()).toEqual({ cwd: "/home/bob/project", hostname: "bob-laptop" });
    // Once the long-lived connection is gone too, the next connection's whereabouts show.
    long.close();
    await until(() => bobsConns() === 0, "the broker to handle the long connection's close");
    const next = await connect(b.url, bob, { cwd: "/srv/bob", hostname: "bob-server" });
    expect(await where()).toEqual({ cwd: "/srv/bob", hostname: "bob-server" });
    for (const p of [a, next]) p.close();
  });
});
