// Nothing acknowledged is lost: messages whose send result arrived survive a broker killed with
// SIGKILL and restarted on the same data directory; SIGTERM drains and exits 0.
import { describe, expect, test } from "bun:test";
import { tempDir, type TestBroker } from "../helpers/broker.ts";
import { dashboardSession } from "../helpers/dashboard.ts";
import { spawnBroker } from "../helpers/process.ts";
import { addMember, connect, createTestMesh, envelope, sendText, textOf } from "../helpers/mesh.ts";
import { until } from "../helpers/until.ts";
import { loadBrokerConfig } from "../../src/config/load.ts";
import { jsonLog } from "../../src/log/log.ts";
import { openSqliteStore } from "../../src/store/sqlite/open-store.ts";
import { createBroker } from "../../src/broker/server.ts";

/** A broker with synchronous "full" on a disk made slow at will: after hold(), every flush waits
 *  until the release hold() returned is called. Disposing it releases any hold (stop's own flush
 *  must not wait at the gate after a failed check) and stops the broker. */
async function brokerWithSlowDisk() {
  const dataDir = tempDir();
  const config = loadBrokerConfig({ flags: { port: 0, dataDir, synchronous: "full" } as never, env: {} });
  const store = await openSqliteStore({ dataDir, synchronous: "full" });
  let gate: Promise<void> | null = null;
  let open = () => {};
  const realFlush = store.flushed.bind(store);
  store.flushed = async () => {
    await realFlush();
    if (gate) await gate;
  };
  const hold = () => {
    const held = Promise.withResolvers<void>();
    gate = held.promise;
    return (open = () => {
      gate = null;
      held.resolve();
    });
  };
  const broker = await createBroker({ config, store, log: jsonLog("error", () => {}), defaultMetrics: false });
  return {
    broker,
    store,
    hold,
    async [Symbol.asyncDispose]() {
      open();
      await broker.stop();
    },
  };
}

/** brokerWithSlowDisk with a mesh: its owner and member bob, each connected (bob with `bobOpts`). */
async function slowDiskMesh(bobOpts?: Parameters<typeof connect>[2]) {
  const slow = await brokerWithSlowDisk();
  const { owner } = await createTestMesh(slow.broker.url);
  const bob = await addMember(slow.broker.url, owner, "bob");
  const a = await connect(slow.broker.url, owner);
  const b = await connect(slow.broker.url, bob, bobOpts);
  return Object.assign(slow, { bob, a, b });
}

/** Waits until the store holds a message of `kind` (committed, maybe not yet flushed). */
const stored = (store: Awaited<ReturnType<typeof brokerWithSlowDisk>>["store"], kind: string) =>
  until(() => store.db.query("SELECT 1 FROM messages WHERE kind = ?").get(kind) !== null, `a ${kind} message stored`);

const answeredWithin = async <T>(p: Promise<T>, ms: number) => Promise.race([p.then(() => true), Bun.sleep(ms).then(() => false)]);

describe("commit, flush and answers", () => {
  test("neither the recipient's push nor the sender's result comes before the disk flush", async () => {
    await using slow = await slowDiskMesh();
    const { store, hold, bob, a, b } = slow;

    // A push before the flush could show the recipient a message (or a topic offset) that a
    // power loss then takes back and a retry stores anew (chaos --power-loss found both).
    let release = hold();
    const result = sendText(a, bob.keys.publicKey, "hello");
    const pushed = b.waitMessages(1);
    expect(await answeredWithin(result, 100)).toBe(false);
    expect(await answeredWithin(pushed, 1)).toBe(false);
    release();
    const [push] = await pushed;
    expect((await result).messageId).toBe(push!.messageId);

    // A retry of a stored message is answered after a flush too.
    release = hold();
    const retry = sendText(a, bob.keys.publicKey, "hello", { clientMessageId: "retry-me-0001" });
    await until(() => store.db.query("SELECT 1 FROM messages WHERE client_message_id = 'retry-me-0001'").get() !== null, "the first try stored");
    release();
    await retry;
    release = hold();
    const again = sendText(a, bob.keys.publicKey, "hello", { clientMessageId: "retry-me-0001" });
    expect(await answeredWithin(again, 100)).toBe(false);
    release();
    expect(await again).toMatchObject({ duplicate: true });

    // An ack with an id is answered after the flush; one without asks for no flush at all.
    await b.waitMessages(2);
    let flushes = 0;
    const counted = store.flushed;
    store.flushed = () => (flushes++, counted());
    b.client.ackMessages([b.messages[1]!.messageId]);
    await Bun.sleep(50); // past the ack linger: it has committed, and proves no flush came with it
    expect(flushes).toBe(0);
    release = hold();
    const acked = b.client.request("ack", { messageIds: [push!.messageId] });
    expect(await answeredWithin(acked, 100)).toBe(false);
    release();
    expect(await acked).toEqual({ acked: 1 });
    a.close();
    b.close();
  });
});

test("fetch hands out no message before the commit holding it is flushed", async () => {
  // A pull-mode reader would act on a message a power loss can still take back (protocol §5.4).
  await using slow = await slowDiskMesh({ receive: "pull" });
  const { store, hold, bob, a, b } = slow;
  const release = hold();
  const sent = sendText(a, bob.keys.publicKey, "hello");
  await stored(store, "direct");
  const fetched = b.client.request("fetch", {});
  expect(await answeredWithin(fetched, 100)).toBe(false);
  release();
  expect((await fetched).messages.map((m) => m.messageId)).toEqual([(await sent).messageId]);
  a.close();
  b.close();
});

test("topic_list shows no topic offset before the post holding it is flushed", async () => {
  // Like topic_history: a reader could take the offset as where it has read up to, and a power
  // loss before the flush gives that offset to the next post.
  await using slow = await slowDiskMesh();
  const { store, hold, a, b } = slow;
  await a.client.request("topic_create", { name: "news" });
  await b.client.request("topic_join", { topic: "news" });
  const release = hold();
  const posted = sendText(a, "#news", "hello");
  await stored(store, "topic");
  const listed = b.client.request("topic_list", {});
  expect(await answeredWithin(listed, 100)).toBe(false);
  release();
  await posted;
  expect((await listed).topics.find((t) => t.name === "news")).toMatchObject({ lastOffset: 1 });
  a.close();
  b.close();
});

test("the dashboard's topic list shows no topic offset before the post holding it is flushed", async () => {
  await using slow = await slowDiskMesh();
  const { store, hold, bob, a } = slow;
  const dash = await dashboardSession({ url: slow.broker.url } as TestBroker, bob);
  const release = hold();
  const posted = sendText(a, "#general", "hello");
  await stored(store, "topic");
  const listed = dash("GET", "/v1/dashboard/topics").then((r) => r.json() as Promise<{ topics: { name: string; messages: number }[] }>);
  expect(await answeredWithin(listed, 100)).toBe(false);
  release();
  await posted;
  expect((await listed).topics.find((t) => t.name === "general")).toMatchObject({ messages: 1 });
  a.close();
  slow.b.close();
});

describe("crash durability", () => {
  test("every acknowledged send survives SIGKILL, in order, exactly once after de-duplication", async () => {
    const dir = tempDir();
    await using first = await spawnBroker(dir, ["--send-burst", "100000", "--send-rate", "100000"]);
    const { owner } = await createTestMesh(first.url);
    const bob = await addMember(first.url, owner, "bob");
    const a = await connect(first.url, owner, {}, { reconnect: false });
    const acked: string[] = [];
    // Pipeline many sends, then kill the broker mid-stream: only those whose result arrived count.
    const sends = Array.from({ length: 400 }, (_, i) =>
      a.client.request("send", { to: bob.keys.publicKey, clientMessageId: `msg-${String(i).padStart(5, "0")}`, ...envelope(`m${i}`) }).then(
        () => acked.push(`m${i}`),
        () => {},
      ),
    );
    const deadline = Date.now() + 10_000;
    while (acked.length < 100 && Date.now() < deadline) await Bun.sleep(1);
    first.proc.kill("SIGKILL");
    await first.proc.exited;
    await Promise.all(sends);
    a.close();
    expect(acked.length).toBeGreaterThanOrEqual(100);

    await using second = await spawnBroker(dir);
    const bb = await connect(second.url, bob);
    await bb.waitMessages(acked.length, 10_000);
    await Bun.sleep(200); // what was stored but not acknowledged comes too: proves no duplicate follows
    const texts = bb.messages.map(textOf);
    for (const t of acked) expect(texts).toContain(t);
    // FIFO: the delivered sequence is increasing in send order.
    const nums = texts.map((t) => Number(t.slice(1)));
    expect(nums).toEqual([...nums].sort((x, y) => x - y));
    expect(new Set(texts).size).toBe(texts.length);
    bb.close();
  }, 60_000);

  test("SIGTERM closes sockets with 1001, flushes and exits 0", async () => {
    const dir = tempDir();
    await using b = await spawnBroker(dir);
    const { owner } = await createTestMesh(b.url);
    let closeCode = 0;
    const a = await connect(b.url, owner, {}, { reconnect: false, onState: (s, d) => s === "closed" && (closeCode = d.code ?? 0) });
    b.proc.kill("SIGTERM");
    expect(await b.proc.exited).toBe(0);
    expect(closeCode).toBe(1001);
    expect(b.stderr()).toContain('"msg":"broker stopped"');
    a.close();
  }, 30_000);
});
