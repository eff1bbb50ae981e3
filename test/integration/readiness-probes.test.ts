// /health/ready probes the database with a write (protocol §6.6, operations.md Endpoints), and it is
// open to anyone: the probes are bounded, 5 at once and then 1 a second, a request past that
// answered with the latest probe's result (under a second old), so that hammering readiness
// cannot make the broker write a transaction per request, while a database that stops taking
// writes still reads 503 within that second.
import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { startBroker } from "../helpers/broker.ts";
import { spawnBroker } from "../helpers/process.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";

/** The documented bound: probes at once, and a second after. */
const BURST = 5;
const PER_S = 1;
const allowed = (elapsedMs: number) => BURST + Math.ceil((elapsedMs / 1000) * PER_S) + 1;

/** What a process wrote through write(2) and its kin (the WAL and the database file; not its
 *  sockets), from outside it. */
function written(pid: number): { wchar: number; syscw: number } {
  const f = Object.fromEntries(readFileSync(`/proc/${pid}/io`, "utf8").trim().split("\n").map((l) => l.split(": ")));
  return { wchar: Number(f.wchar), syscw: Number(f.syscw) };
}

const ready = async (url: string) => (await fetch(`${url}/health/ready`)).status;

test.skipIf(!existsSync("/proc/self/io"))("200 readiness checks in a row cost the broker a handful of probe writes, not 200", async () => {
  await using b = await spawnBroker(tempDir("cm-ready-"));
  await Bun.sleep(1_200); // the start's own writes, and a full burst of probes
  const before = written(b.proc.pid);
  const t0 = performance.now();
  for (let i = 0; i < 200; i++) expect(await ready(b.url)).toBe(200);
  const elapsed = performance.now() - t0;
  const after = written(b.proc.pid);
  // Before: each request committed a probe, 4 writes and ~8 KiB through the WAL (measured 800
  // writes, 1.6 MB for the 200). A probe is allowed 16 KiB here, for SQLite's variations.
  expect(after.wchar - before.wchar).toBeLessThanOrEqual(allowed(elapsed) * 16 * 1024);
  expect(after.syscw - before.syscw).toBeLessThanOrEqual(allowed(elapsed) * 8);
});

test("hammered, readiness still reads a database that stops taking writes as 503 within a second, and back", async () => {
  await using b = await startBroker();
  const db = (b.ctx.store as SqliteStore).db;
  const changes = () => db.query<{ n: number }, []>("SELECT total_changes() AS n").get()!.n;
  const t0 = performance.now();
  const c0 = changes();
  // Concurrent checks share the probes: 50 at once, then 50 more, every one answered.
  for (let round = 0; round < 2; round++) expect(await Promise.all(Array.from({ length: 50 }, () => ready(b.url)))).toEqual(Array(50).fill(200));
  expect(changes() - c0).toBeLessThanOrEqual(allowed(performance.now() - t0));
  db.run("PRAGMA query_only = ON");
  const t1 = performance.now();
  while ((await ready(b.url)) !== 503) expect(performance.now() - t1).toBeLessThan(1_500);
  db.run("PRAGMA query_only = OFF");
  const t2 = performance.now();
  while ((await ready(b.url)) !== 200) expect(performance.now() - t2).toBeLessThan(1_500);
  // One probe a second at most while the checks kept coming (plus what the burst left).
  expect(changes() - c0).toBeLessThanOrEqual(allowed(performance.now() - t0));
});
