// The final flush on stop (Broker.stop in src/broker/server.ts; docs/operations.md "Signals and
// shutdown", "Durability"): with synchronous=full, stop waits for its own WAL flush, after every
// flush asked for before it has completed, and only then closes the database; a send committed
// before stop is in the database after a reopen.
import { describe, expect, test } from "bun:test";
import { loadBrokerConfig } from "../../src/config/load.ts";
import { createBroker } from "../../src/broker/server.ts";
import { jsonLog } from "../../src/log/log.ts";
import { openSqliteStore } from "../../src/store/sqlite/open-store.ts";
import { tempDir } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh, sendText } from "../helpers/mesh.ts";
import { until } from "../helpers/until.ts";

describe("stop with synchronous=full", () => {
  test("waits for the final WAL flush before closing the database; a send committed before stop survives a reopen", async () => {
    const dataDir = tempDir("cm-stop-flush-");
    const config = loadBrokerConfig({ flags: { port: 0, dataDir, synchronous: "full", drainTimeout: 10_000 } as never, env: {} });
    const store = await openSqliteStore({ dataDir, synchronous: "full" });
    // Every flush runs for real, then waits for `gate` (a slow disk). `events` records the order;
    // a flush asked for once ctx.draining is set is stop's own.
    const events: string[] = [];
    let gate: Promise<void> | null = null;
    let asked = 0;
    let onDrainingAsk = () => {};
    let draining = () => false;
    const realFlushed = store.flushed.bind(store);
    store.flushed = async () => {
      const n = asked++;
      events.push(`ask ${n}`);
      if (draining()) onDrainingAsk();
      await realFlushed();
      if (gate) await gate;
      events.push(`flushed ${n}`);
    };
    const realClose = store.close.bind(store);
    store.close = () => {
      events.push("close");
      realClose();
    };
    const broker = await createBroker({ config, store, log: jsonLog("error", () => {}), defaultMetrics: false });
    draining = () => broker.ctx.draining;
    let stopped: Promise<void> | null = null;
    try {
      const { owner } = await createTestMesh(broker.url);
      const bob = await addMember(broker.url, owner, "bob");
      const a = await connect(broker.url, owner, {}, { reconnect: false });
      const b = await connect(broker.url, bob, {}, { reconnect: false });

      let release!: () => void;
      gate = new Promise<void>((r) => (release = r));
      void sendText(a, bob.keys.publicKey, "last words").catch(() => {}); // answered once its flush is let through, then 1001
      // Committed, its flush held at the gate (so neither its result nor bob's push has gone out).
      const direct = () => store.db.query<{ id: string }, []>("SELECT id FROM messages WHERE kind = 'direct'").get();
      await until(() => direct() !== null, "the send's commit");
      const stored = direct()!;
      expect(b.messages).toHaveLength(0);

      const stopFlushAsked = new Promise<"asked">((r) => (onDrainingAsk = () => r("asked")));
      stopped = broker.stop();
      expect(await Promise.race([stopFlushAsked, stopped.then(() => "stopped")])).toBe("asked");
      expect(events).not.toContain("close"); // the disk is slow: the database stays open
      release();
      await stopped;
      // Closed last, after every flush asked for before it had completed.
      expect(events.at(-1)).toBe("close");
      const flushed = events.filter((e) => e.startsWith("flushed ")).map((e) => e.slice(8));
      expect(flushed.sort()).toEqual(events.filter((e) => e.startsWith("ask ")).map((e) => e.slice(4)).sort());

      const reopened = await openSqliteStore({ dataDir, synchronous: "normal" });
      try {
        expect(reopened.db.query<{ id: string }, [string]>("SELECT id FROM messages WHERE id = ?").get(stored.id)).toEqual({ id: stored.id });
      } finally {
        reopened.close();
      }
    } finally {
      await (stopped ?? broker.stop());
    }
  }, 30_000);
});
