// An expiry sweep that overlaps the broker's stop (src/broker/timers.ts sweepRound, Broker.stop in
// src/broker/server.ts; protocol §5.8): stop waits for the running sweep round before it closes
// the database, and the round's deletions and notices commit together, so after a restart on the
// same data directory the sender is told exactly once that its message reached nobody.
import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { BROKER_SENDER, sweepRound } from "../../src/broker/timers.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";
import { brokerClock, startBroker } from "../helpers/broker.ts";
import { until } from "../helpers/cli.ts";
import { addMember, connect, createTestMesh, envelope } from "../helpers/mesh.ts";

describe("a sweep racing stop", () => {
  test("stop waits for the sweep round; after a restart the expired message's notice reaches its sender once", async () => {
    await using b = await startBroker({ synchronous: "full" }, { keepData: true });
    const { owner } = await createTestMesh(b.url, "alice");
    const bob = await addMember(b.url, owner, "bob"); // never connects
    const a = await connect(b.url, owner, { receive: "pull" });
    const sent = await a.client.request("send", { to: bob.keys.publicKey, clientMessageId: "expiring-0001", ttlMs: 1000, ...envelope("x") });
    a.close();
    brokerClock(b, 1100); // past its TTL by the broker's clock: the sweep below expires it

    // The sweep's own flush is held (a slow disk) until released: stop must not close the
    // database meanwhile.
    const store = b.ctx.store as SqliteStore;
    const events: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let holdNextFlush = false;
    const realSweep = store.sweep.bind(store);
    store.sweep = ((...args: Parameters<typeof realSweep>) => {
      holdNextFlush = true; // the store flushes right after the sweep's transaction
      return realSweep(...args);
    }) as typeof store.sweep;
    const realFlushed = store.flushed.bind(store);
    store.flushed = async () => {
      const hold = holdNextFlush;
      holdNextFlush = false;
      await realFlushed();
      if (hold) {
        events.push("sweep flushed");
        await gate;
      }
    };
    const realClose = store.close.bind(store);
    store.close = () => {
      events.push("close");
      realClose();
    };

    const round = sweepRound(b.ctx).then(
      () => "ok",
      (e: Error) => `sweep failed: ${e.message}`,
    );
    const stopped = b.stop();
    // Wait for the sweep to reach its held flush (an fdatasync: on a loaded host it can take far
    // longer than any fixed sleep), or for the round to end without getting there.
    let settled = false;
    void round.finally(() => (settled = true));
    await until(() => events.includes("sweep flushed") || settled, "the sweep's flush", 20_000);
    // Then hold it: a stop that did not wait for the round closes the store meanwhile (its own
    // final flush queues behind the sweep's, which has just ended), recorded before "released".
    // A bounded wait: it proves the absence of that close.
    await Bun.sleep(300);
    events.push("released");
    release();
    expect(await round).toBe("ok");
    await stopped;
    expect(events).toEqual(["sweep flushed", "released", "close"]);

    // Restart on the same data directory: whatever the sweep left is there, and a sweep there
    // finds the expiry if the first had not committed it.
    await using b2 = await startBroker({}, { dataDir: b.dataDir });
    brokerClock(b2, 1100);
    await sweepRound(b2.ctx);
    const a2 = await connect(b2.url, owner);
    const [notice] = await a2.waitMessages(1);
    expect({ kind: notice!.kind, from: notice!.from.pubkey, notice: notice!.notice }).toEqual({
      kind: "system",
      from: BROKER_SENDER.pubkey,
      notice: { event: "message_expired", messageId: sent.messageId, clientMessageId: "expiring-0001", to: bob.keys.publicKey },
    });
    await a2.client.request("ack", { messageIds: [notice!.messageId] });
    a2.close();
    await b2.stop();

    const db = new Database(`${b.dataDir}/claudemesh.db`, { readonly: true });
    try {
      expect(db.query("SELECT count(*) AS n FROM queue").get()).toEqual({ n: 0 });
      expect(db.query("SELECT count(*) AS n FROM messages WHERE kind = 'system'").get()).toEqual({ n: 1 });
    } finally {
      db.close();
    }
  }, 60_000);
});
