// The client library against a real broker: reconnect with backoff across a broker restart, the
// bounded outbound queue while disconnected, session attestation refresh, topic resume by offset.
import { describe, expect, test } from "bun:test";
import { brokerClock, startBroker, tempDir } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh, envelope, sendText, textOf } from "../helpers/mesh.ts";
import { until } from "../helpers/until.ts";
import { BrokerClient } from "../../src/client/client.ts";
import { MeshSession } from "../../src/client/mesh-session.ts";
import { resumeTopic } from "../../src/client/topics.ts";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";
import { MAX_ACK_BATCH } from "../../src/protocol/limits.ts";
import { sweepRound } from "../../src/broker/timers.ts";

describe("client library", () => {
  test("reconnects after a broker restart and sends what was queued meanwhile, once", async () => {
    const dir = tempDir();
    await using first = await startBroker({}, { dataDir: dir });
    const port = first.port;
    const { owner } = await createTestMesh(first.url);
    const bob = await addMember(first.url, owner, "bob");
    const states: string[] = [];
    const a = await connect(first.url, owner, {}, { random: () => 0, onState: (s) => states.push(s) });
    await first.stop();
    const pending = [1, 2, 3].map((i) => a.client.request("send", { to: bob.keys.publicKey, clientMessageId: `queued-${i}-x`, ...envelope(`q${i}`) }));
    await using b = await startBroker({ port }, { dataDir: dir });
    const results = await Promise.all(pending);
    expect(results.every((r) => !r.duplicate)).toBe(true);
    expect(states).toContain("reconnecting");
    expect(a.client.state).toBe("open");
    const bb = await connect(b.url, bob);
    expect((await bb.waitMessages(3)).map(textOf)).toEqual(["q1", "q2", "q3"]);
    a.close();
    bb.close();
  }, 20_000);

  test("a reconnect refused for clock skew is retried at the backoff, and succeeds once the clocks agree", async () => {
    // It used to close the client for good: a laptop waking with a stale clock lost the mesh.
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const states: string[] = [];
    let skewed!: () => void;
    const refused = new Promise<void>((r) => (skewed = r));
    const a = await connect(b.url, owner, {}, { random: () => 0, onState: (s, info) => (states.push(info?.reason ? `${s}:${info.reason}` : s), info?.reason === "timestamp_skew" && skewed()) });
    const ctx = b.ctx as { now: () => number };
    const realNow = ctx.now;
    ctx.now = () => realNow() + 90_000; // the broker sees the client's clock 90 s behind
    for (const c of [...b.ctx.hub.allConns()]) c.close(1001, "going away");
    await refused;
    expect(a.client.state).toBe("reconnecting");
    ctx.now = realNow; // the clock is set right
    await until(() => a.client.state === "open", "the client to reconnect");
    expect(states.some((s) => s.startsWith("closed"))).toBe(false);
    a.close();
  }, 20_000);

  test("a failed first connect rejects at once by default, and is retried with firstConnect: retry", async () => {
    const dir = tempDir();
    await using first = await startBroker({}, { dataDir: dir });
    const port = first.port;
    const { owner } = await createTestMesh(first.url);
    await first.stop();
    const started = performance.now();
    await expect(connect(first.url, owner)).rejects.toMatchObject({ code: "unavailable", message: expect.stringContaining("Cannot reach the broker") });
    expect(performance.now() - started).toBeLessThan(2000);

    const states: string[] = [];
    let failedOnce!: () => void;
    const retrying = new Promise<void>((r) => (failedOnce = r));
    const waiting = connect(first.url, owner, {}, { firstConnect: "retry", random: () => 0, onState: (s) => (states.push(s), s === "reconnecting" && failedOnce()) });
    await retrying;
    await using again = await startBroker({ port }, { dataDir: dir });
    const peer = await waiting;
    expect({ state: peer.client.state, states: [...new Set(states)] }).toEqual({ state: "open", states: ["reconnecting", "open"] });
    peer.close();
  });

  test("a broker that takes the connection and never answers fails the connect at the handshake deadline", async () => {
    // The liveness watch alone gave up after 50 s: a CLI command against a stuck broker hung that long.
    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const keys = generateSigningKeypair();
    const client = new BrokerClient({ url: `http://127.0.0.1:${silent.port}`, credentials: { kind: "member", meshId: "mesh_silent01", memberId: "mbr_silent01", keys }, where: { sessionId: "s-silent-1", pid: 1, cwd: "/" }, handshakeTimeoutMs: 300 });
    const started = performance.now();
    // `timeout`, as `new` says of an HTTP request left unanswered (src/client/broker-trouble.ts).
    await expect(client.connect()).rejects.toMatchObject({ code: "timeout", message: `The broker at http://127.0.0.1:${silent.port} did not answer within 300 ms, so nothing was sent.` });
    expect(performance.now() - started).toBeLessThan(5000);
    expect(client.state).toBe("closed");
    silent.stop(true);
  });

  test("close() settles a first connect that is still retrying", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    await b.stop();
    const client: BrokerClient = new BrokerClient({
      url: b.url,
      credentials: { kind: "member", meshId: owner.meshId, memberId: owner.memberId, keys: owner.keys },
      where: { sessionId: "retrying-1", pid: 1, cwd: "/" },
      firstConnect: "retry",
      onState: (s) => s === "reconnecting" && client.close(),
    });
    await expect(client.connect()).rejects.toMatchObject({ code: "unavailable", message: "The client was closed before it connected." });
  });

  test("a full outbound queue refuses at once instead of growing", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    let down!: () => void;
    const reconnecting = new Promise<void>((r) => (down = r));
    const a = await connect(b.url, owner, {}, { maxQueued: 2, onState: (s) => s === "reconnecting" && down() });
    await b.stop();
    await reconnecting;
    const r = [1, 2, 3].map(() => a.client.request("list_peers", {}, 300).catch((e) => [e.code, e.message]));
    // A timeout says what was being done, not the wire request ("No reply to list_peers").
    const timedOut = ["timeout", "Listing peers failed: no reply from the broker within 0.3 s."];
    expect(await Promise.all(r)).toEqual([timedOut, timedOut, ["unavailable", "Not connected and the outbound queue is full."]]);
    a.close();
  });

  test("a session renews its attestation before it expires and stays connected", async () => {
    // Margins wide enough for a loaded CI host: renewal at 80 % of 4 s leaves 800 ms before expiry,
    // and the liveness round (1 s) closes an expired session within a second of its expiry.
    await using b = await startBroker({ pingInterval: 1000 });
    const { owner } = await createTestMesh(b.url);
    const closes: number[] = [];
    const client = new BrokerClient({
      url: b.url,
      credentials: { kind: "session", meshId: owner.meshId, memberId: owner.memberId, memberKeys: owner.keys, sessionKeys: generateSigningKeypair(), attestationTtlMs: 4000 },
      where: { sessionId: "claude-1", pid: 1, cwd: "/repo/web" },
      onState: (s, d) => s !== "open" && d.code !== undefined && closes.push(d.code),
    });
    const ack = await client.connect();
    expect(ack.displayName).toBe("owner/web");
    await Bun.sleep(5500); // past the first attestation's expiry and the liveness round after it
    expect({ state: client.state, closes }).toEqual({ state: "open", closes: [] });
    client.close();
  }, 15_000);

  test("frames of a newer broker with fields this client does not know are read, not dropped", async () => {
    // A scripted broker speaking this protocol plus one field per frame that this client predates
    // (docs/protocol.md §1.2). Dropping them left connect() hanging and pushes forever unacked.
    const acked = Promise.withResolvers<string[]>();
    const messageId = "msg_future0001";
    using broker = scriptedBroker({ futureField: { x: 1 } }, (f, ws, id) => {
      if (f.type === "ack") return acked.resolve(f.messageIds as string[]);
      const from = { memberId: id.memberId, memberPubkey: id.keys.publicKey, pubkey: id.keys.publicKey, name: "owner", futureSenderField: 1 };
      if (f.type === "hello") ws.send(JSON.stringify({ type: "message", messageId, meshId: id.meshId, kind: "direct", from, to: id.keys.publicKey, priority: "now", clientMessageId: "c1", nonce: "n", ciphertext: "x", createdAt: Date.now(), futurePushField: "y" }));
    });
    const messages: string[] = [];
    const client = broker.client({ onMessage: (m) => (messages.push(m.messageId), client.ackMessages([m.messageId])) });
    const ack = await client.connect();
    expect(ack.mesh.slug).toBe("scripted");
    expect(await acked.promise).toEqual([messageId]);
    expect(messages).toEqual([messageId]);
    client.close();
  }, 10_000);

  test("a key_rotated event raises the mesh epoch the client reports (MeshSession refuses older-key posts by it)", async () => {
    using broker = scriptedBroker({}, (f, ws) => {
      if (f.type === "hello") ws.send(JSON.stringify({ type: "event", event: "key_rotated", data: { epoch: 2, by: "member_scripted1" } }));
    });
    const events: string[] = [];
    const client = broker.client({ onEvent: (e) => events.push(e.event) });
    expect((await client.connect()).mesh.keyEpoch).toBe(0);
    await until(() => events.length > 0, "the key_rotated event");
    expect(client.ack?.mesh.keyEpoch).toBe(2);
    client.close();
  }, 10_000);

  test("a send the broker answers with unavailable is sent again with the same clientMessageId", async () => {
    // unavailable on a send means "outcome unknown" (a draining broker, a failed flush): the
    // client retries it itself, as it does a send whose result was lost with the connection.
    const seen: string[] = [];
    using broker = scriptedBroker({}, (f, ws) => {
      if (f.type !== "send") return;
      const cmid = f.clientMessageId as string;
      seen.push(cmid);
      if (cmid === "cm_never_stored" || seen.length < 3) ws.send(JSON.stringify({ type: "error", id: f.id, code: "unavailable", message: "The broker is shutting down.", retryable: true }));
      else ws.send(JSON.stringify({ type: "result", id: f.id, data: { messageId: "msg_retry00001", duplicate: true, createdAt: Date.now(), undeliverable: [] } }));
    });
    const client = broker.client();
    await client.connect();
    const to = broker.id.keys.publicKey;
    const r = await client.request("send", { to, clientMessageId: "cm_retry_once", ...envelope("x") });
    expect(r.messageId).toBe("msg_retry00001");
    expect(seen).toEqual(["cm_retry_once", "cm_retry_once", "cm_retry_once"]);
    // A send that stays unavailable until its timeout reports the broker's error, not a timeout.
    await expect(client.request("send", { to, clientMessageId: "cm_never_stored", ...envelope("y") }, 2500)).rejects.toMatchObject({ code: "unavailable", message: expect.stringContaining("shutting down") });
    expect(seen.filter((c) => c === "cm_never_stored").length).toBeGreaterThanOrEqual(2);
    client.close();
  }, 15_000);

  test("a hello_ack with a protocol version this client does not speak closes with 1000 and says to upgrade", async () => {
    // docs/protocol.md §1.2: the client MUST close (1000) and tell its user to upgrade.
    using broker = scriptedBroker({ protocolVersion: 2 }, () => {});
    const states: string[] = [];
    const client = broker.client({ onState: (s, d) => states.push(`${s}:${d.code ?? ""}`) });
    await expect(client.connect()).rejects.toMatchObject({ code: "unsupported_version", message: expect.stringContaining("upgrade claudemesh") });
    expect(await broker.closed).toBe(1000);
    expect({ state: client.state, states }).toEqual({ state: "closed", states: ["closed:1000"] });
  });

  test("the broker's pings count as life: while they come, the client sends no pings of its own", async () => {
    // Pings from the broker are WebSocket control frames, not messages: a client that heard only
    // messages would probe (and with a lost pong, drop) a healthy idle link.
    // The broker and the client share this process: a stall of the whole process (a busy CI host
    // took 45 % of the CPU away) delays the broker's next ping and fires the client's idle timer
    // together, so the idle window is 15 ping intervals wide, not 4.
    using broker = scriptedBroker({}, () => {}, { pingEveryMs: 100 });
    const states: string[] = [];
    const client = broker.client({ pingIdleMs: 1500, pongTimeoutMs: 1000, onState: (s) => states.push(s) });
    await client.connect();
    await Bun.sleep(4500); // what is checked is that nothing happens for several idle windows
    expect({ clientPings: broker.counts.clientPings, states }).toEqual({ clientPings: 0, states: ["open"] });
    client.close();
  });

  test("a system notice redelivered after a lost ack is dropped as a replay, like any message", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const mine = new MeshSession({ meshId: owner.meshId, publicKey: owner.keys.publicKey, secretKey: owner.keys.secretKey, memberPubkey: owner.keys.publicKey, memberSecretKey: owner.keys.secretKey, ownerPubkey: owner.keys.publicKey }, []);
    const a = await connect(b.url, owner, { receive: "pull" });
    await a.client.request("send", { to: bob.keys.publicKey, clientMessageId: "cm_expires_soon", ttlMs: 1000, ...envelope("x") });
    brokerClock(b, 1100); // past the message's TTL by the broker's clock: the sweep expires it and queues the notice
    await sweepRound(b.ctx);
    // Two reads, each on a connection that closes without acking (a process that died before its
    // ack left): the broker releases the claim when it handles the close, then hands it out again.
    const read = async () => {
      let messages: Awaited<ReturnType<typeof fetchOnce>> = [];
      await until(async () => (messages = await fetchOnce()).length > 0, "the notice handed out again");
      return messages.map((m) => { const r = mine.open(m); return `${m.kind}:${r.ok ? "shown" : r.reason}`; });
    };
    const fetchOnce = async () => {
      const c = await connect(b.url, owner, { receive: "pull" });
      const { messages } = await c.client.request("fetch", {});
      c.close();
      return messages;
    };
    expect(await read()).toEqual(["system:shown"]);
    expect(await read()).toEqual(["system:replayed"]);
    a.close();
  }, 10_000);

  test("ackSync of more ids than one ack frame holds acks them all (MAX_ACK_BATCH at a time)", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const a = await connect(b.url, owner);
    await Promise.all(Array.from({ length: MAX_ACK_BATCH + 88 }, (_, i) => sendText(a, bob.keys.publicKey, `m${i}`)));
    // Queued while bob was away, pushed at once when he connects (a backlog after a pause).
    const bb = await connect(b.url, bob);
    const got = await bb.waitMessages(MAX_ACK_BATCH + 88);
    expect(await bb.client.ackSync(got.map((m) => m.messageId))).toEqual({ acked: MAX_ACK_BATCH + 88 });
    expect(await b.ctx.store.pendingCount(owner.meshId, [bob.keys.publicKey])).toBe(0);
    a.close();
    bb.close();
  });

  test("topic resume returns exactly the messages after an offset, across pages", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const a = await connect(b.url, owner);
    for (let i = 1; i <= 25; i++) await sendText(a, "#general", `p${i}`);
    const r = await resumeTopic(a.client, "general", 7, 5);
    expect({ lost: r.historyLost, last: r.lastOffset, texts: r.messages.map(textOf) }).toEqual({
      lost: false,
      last: 25,
      texts: Array.from({ length: 18 }, (_, i) => `p${i + 8}`),
    });
    a.close();
  });
});

type ScriptedId = { meshId: string; memberId: string; keys: ReturnType<typeof generateSigningKeypair> };

/** A stand-in broker for client behaviour a real one cannot be made to show (a newer protocol, a
 *  chosen error, what the client sends on its own): it answers any hello with a valid hello_ack
 *  (plus `helloExtra` fields, which override), then hands every frame, the hello included, to
 *  `onFrame`; with `pingEveryMs` it pings every connection that often. */
function scriptedBroker(helloExtra: Record<string, unknown>, onFrame: (f: Record<string, unknown>, ws: { send(text: string): unknown }, id: ScriptedId) => void, opts: { pingEveryMs?: number } = {}) {
  const id: ScriptedId = { meshId: "mesh_scripted1", memberId: "member_scripted1", keys: generateSigningKeypair() };
  const closed = Promise.withResolvers<number>();
  const counts = { clientPings: 0 };
  const pingers = new Set<ReturnType<typeof setInterval>>();
  const server = Bun.serve({
    port: 0,
    fetch: (req, srv) => (srv.upgrade(req) ? undefined : new Response("upgrade", { status: 426 })),
    websocket: {
      open(ws) {
        if (opts.pingEveryMs) pingers.add(setInterval(() => ws.ping(), opts.pingEveryMs));
      },
      ping: () => void counts.clientPings++,
      message(ws, text) {
        const f = JSON.parse(String(text)) as Record<string, unknown>;
        if (f.type !== "hello") return onFrame(f, ws, id);
        const mesh = { id: id.meshId, slug: "scripted", name: "Scripted", ownerPubkey: id.keys.publicKey, keyEpoch: 0, ...(helloExtra.futureField ? { futureMeshField: true } : {}) };
        const limits = { maxFrameBytes: 65536, sendRatePerSec: 10, sendBurst: 20 };
        ws.send(JSON.stringify({ type: "hello_ack", protocolVersion: 1, presenceId: "p1", memberId: id.memberId, role: "owner", displayName: "owner", mesh, hookToken: "t", pending: 0, epoch: "e1", serverTime: Date.now(), reattached: false, limits, ...helloExtra }));
        onFrame(f, ws, id);
      },
      close: (_ws, code) => closed.resolve(code),
    },
  });
  return {
    id,
    /** The close code of the first connection that closed. */
    closed: closed.promise,
    /** WebSocket pings received from clients. */
    counts,
    client: (extra: Partial<ConstructorParameters<typeof BrokerClient>[0]> = {}) =>
      new BrokerClient({
        url: `http://127.0.0.1:${server.port}`,
        credentials: { kind: "member", meshId: id.meshId, memberId: id.memberId, keys: id.keys },
        where: { sessionId: "s1", pid: process.pid, cwd: "/tmp/test", hostname: "test-host" },
        ...extra,
      }),
    [Symbol.dispose]: () => (pingers.forEach(clearInterval), server.stop(true)),
  };
}
