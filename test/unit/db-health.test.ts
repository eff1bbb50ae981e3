// DbHealth's bound on readiness probes (db-health.ts), on a fake store and clock: 5 probes at once,
// then one a second; past that the latest result, never older than a second; callers during a
// probe share it; a store that failed for good is probed again at once.
import { expect, test } from "bun:test";
import { DbHealth } from "../../src/broker/db-health.ts";
import type { Health, Store } from "../../src/store/types.ts";

function fake() {
  const clock = { ms: 0 };
  const io = { probes: 0, writable: true, gate: null as Promise<void> | null, fail: (_: Error) => {} };
  const fatal = new Promise<Error>((r) => (io.fail = r));
  const store = {
    fatal,
    async health(): Promise<Health> {
      io.probes++;
      const writable = io.writable;
      if (io.gate) await io.gate;
      return { writable, schemaVersion: 1, expectedVersion: 1, error: writable ? null : "read-only" };
    },
  } as unknown as Store;
  const gauge: number[] = [];
  const db = new DbHealth(store, { set: (v) => void gauge.push(v) }, () => clock.ms);
  return { db, io, clock, gauge };
}

test("readiness probes 5 at once, then one a second; in between it repeats the latest result", async () => {
  const { db, io, clock } = fake();
  await db.probe(); // the broker's, at start
  for (let i = 0; i < 8; i++) expect((await db.ready()).writable).toBe(true);
  expect(io.probes).toBe(1 + 5);
  io.writable = false;
  clock.ms += 999;
  expect((await db.ready()).writable).toBe(true); // 999 ms old: still what the latest probe found
  clock.ms += 1;
  expect((await db.ready()).writable).toBe(false); // a second on: probed again
  expect(io.probes).toBe(7);
});

test("callers while a probe runs share it", async () => {
  const { db, io } = fake();
  let open!: () => void;
  io.gate = new Promise((r) => (open = r));
  const all = Promise.all([db.probe(), db.ready(), db.ready(), db.probe()]);
  open();
  expect((await all).map((h) => h.writable)).toEqual([true, true, true, true]);
  expect(io.probes).toBe(1);
});

test("a store that failed for good is probed at once, bound or not, and the gauge drops", async () => {
  const { db, io, gauge } = fake();
  for (let i = 0; i < 10; i++) await db.ready();
  const probes = io.probes;
  io.writable = false;
  io.fail(new Error("flush failed"));
  await Bun.sleep(0);
  expect(gauge.at(-1)).toBe(0);
  expect((await db.ready()).writable).toBe(false);
  expect(io.probes).toBe(probes + 1);
});
