// Acks while the broker drains (docs/protocol.md §3.4 "A broker that is shutting down";
// src/broker/server.ts stop): the drain waits up to ANSWER_WAIT_MS for the group commit's
// answers before its 1001, with the sockets still open. An ack sent in that wait is taken and
// committed before the database closes, so what it acknowledged is not pushed again after the
// restart; and taking it pushes nothing new to the connection, which would only be pushed again.
// The wait is made real by a slow disk: every flush is held at a gate until the test lets it on.
import { describe, expect, test } from "bun:test";
import { loadBrokerConfig } from "../../src/config/load.ts";
import { createBroker } from "../../src/broker/server.ts";
import { jsonLog } from "../../src/log/log.ts";
import { PUSH_WINDOW } from "../../src/protocol/limits.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";
import { openSqliteStore } from "../../src/store/sqlite/open-store.ts";
import { startBroker, tempDir } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh, sendText, textOf, type TestMember, type TestPeer } from "../helpers/mesh.ts";
import { until } from "../helpers/until.ts";

/** A broker whose flushes, once `hold()` is called, wait for the returned release. */
async function slowDiskBroker(dataDir: string) {
  const config = loadBrokerConfig({ flags: { port: 0, dataDir, synchronous: "normal", drainTimeout: 10_000, sendRate: 100_000, sendBurst: 100_000 } as never, env: {} });
  const store = await openSqliteStore({ dataDir, synchronous: "normal" });
  let gate: Promise<void> | null = null;
  const realFlushed = store.flushed.bind(store);
  store.flushed = async () => {
    await realFlushed();
    if (gate) await gate;
  };
  const broker = await createBroker({ config, store, log: jsonLog("error", () => {}), defaultMetrics: false });
  const hold = () => {
    let release!: () => void;
    gate = new Promise<void>((r) => (release = r));
    return release;
  };
  return { broker, store, hold };
}

/** The owner and bob of a new mesh, each connected once (as a one-shot command: no reconnect). */
async function twoMembers(url: string) {
  const { owner } = await createTestMesh(url);
  const bob = await addMember(url, owner, "bob");
  const [a, b] = await Promise.all([connect(url, owner, {}, { reconnect: false }), connect(url, bob, {}, { reconnect: false })]);
  return { owner, bob, a, b };
}

/** What bob is pushed once a broker runs again on `dataDir`, up to a message the owner sends then. */
async function pushedAfterRestart(dataDir: string, port: number, owner: TestMember, bob: TestMember): Promise<string[]> {
  await using again = await startBroker({ port }, { dataDir });
  const b = await connect(again.url, bob, {}, { reconnect: false });
  const a = await connect(again.url, owner, {}, { reconnect: false });
  await sendText(a, bob.keys.publicKey, "after the restart");
  await until(() => b.messages.some((m) => textOf(m) === "after the restart"), "the message sent after the restart");
  a.close();
  b.close();
  return b.messages.map(textOf);
}

const queued = (store: SqliteStore, messageId: string) =>
  store.db.query<{ n: number }, [string]>("SELECT count(*) AS n FROM queue q JOIN messages m ON m.seq = q.message_seq WHERE m.id = ?").get(messageId)!.n;

/** The ack's fate while the drain waits: refused (its error code), or committed (its entry gone). */
function ackDuringDrain(store: SqliteStore, peer: TestPeer, messageId: string): Promise<string> {
  const refused = peer.client.request("ack", { messageIds: [messageId] }).then(
    () => new Promise<string>(() => {}), // answered only after the held flush: the commit decides first
    (err: { code?: string }) => `refused: ${err.code}`,
  );
  const committed = until(() => queued(store, messageId) === 0, "the ack's commit", 5_000).then(() => "committed", () => "not committed");
  return Promise.race([refused, committed]);
}

describe("acks while the broker drains", () => {
  test("an ack sent while the drain waits for a slow disk is committed: the message is not pushed again after the restart", async () => {
    const dataDir = tempDir("cm-drain-ack-");
    const { broker, store, hold } = await slowDiskBroker(dataDir);
    const { owner, bob, a, b } = await twoMembers(broker.url);
    await sendText(a, bob.keys.publicKey, "pushed before the drain");
    const [pushed] = await b.waitMessages(1);

    const release = hold();
    const stopped = broker.stop(); // waits for its flush: the sockets stay open meanwhile
    const ack = await ackDuringDrain(store, b, pushed!.messageId);
    release();
    await stopped;
    expect({ ack, afterRestart: await pushedAfterRestart(dataDir, broker.port, owner, bob) }).toEqual({ ack: "committed", afterRestart: ["after the restart"] });
    a.close();
    b.close();
  }, 60_000);

  test("an ack taken while draining pushes nothing new: the message waiting behind a full window stays queued for the restart", async () => {
    const dataDir = tempDir("cm-drain-ack-window-");
    const { broker, store, hold } = await slowDiskBroker(dataDir);
    try {
      const { bob, a, b } = await twoMembers(broker.url);
      // In pages: a client keeps at most 1,000 requests awaiting their answers.
      for (let i = 0; i <= PUSH_WINDOW; i += 500) await Promise.all(Array.from({ length: Math.min(500, PUSH_WINDOW + 1 - i) }, (_, j) => sendText(a, bob.keys.publicKey, `m${i + j}`)));
      const window = await b.waitMessages(PUSH_WINDOW, 30_000);

      const release = hold();
      const stopped = broker.stop();
      const ack = await ackDuringDrain(store, b, window[0]!.messageId);
      release();
      await stopped;
      // Every frame sent before the 1001 has reached the client once it has seen the close.
      await until(() => b.client.state !== "open", "bob's client to see the 1001");
      expect({ ack, pushed: b.messages.length }).toEqual({ ack: "committed", pushed: PUSH_WINDOW });
      a.close();
      b.close();
    } finally {
      await broker.stop();
    }
  }, 60_000);

  test("a send committed before the drain and flushed during it is answered, not pushed: it is pushed once, after the restart", async () => {
    const dataDir = tempDir("cm-drain-push-");
    const { broker, store, hold } = await slowDiskBroker(dataDir);
    const { owner, bob, a, b } = await twoMembers(broker.url);
    const release = hold();
    const answered = sendText(a, bob.keys.publicKey, "in the drain").then(() => "answered", (err: { code?: string }) => err.code);
    await until(() => store.db.query("SELECT 1 FROM messages WHERE kind = 'direct'").get() !== null, "the send's commit");
    const stopped = broker.stop();
    release();
    await stopped;
    await until(() => b.client.state !== "open", "bob's client to see the 1001");
    const beforeRestart = b.messages.map(textOf);
    const afterRestart = await pushedAfterRestart(dataDir, broker.port, owner, bob);
    expect({ send: await answered, beforeRestart, afterRestart }).toEqual({ send: "answered", beforeRestart: [], afterRestart: ["in the drain", "after the restart"] });
    a.close();
    b.close();
  }, 60_000);
});
