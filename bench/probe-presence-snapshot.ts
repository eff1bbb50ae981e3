// Diagnostic, not part of `bun run bench`: what one presence snapshot (src/broker/presence-snapshot.ts)
// costs a broker with N presences: the record's bytes, the process's CPU time for it (user+system,
// which other load on the machine barely moves), and the longest the event loop was held at once
// (what a message arriving meanwhile waits; wall time, so a loaded machine's preemption shows in
// it), measured by a setImmediate loop beside it in rounds of their own. A real broker and store;
// the presences are put in its hub directly (Hub.carry), with fields the size real ones have.
// Run: bun run bench/probe-presence-snapshot.ts [--sync full|normal] [--presences 1000,5000,10000]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadBrokerConfig } from "../src/config/load.ts";
import { jsonLog } from "../src/log/log.ts";
import { openSqliteStore } from "../src/store/sqlite/open-store.ts";
import { createBroker } from "../src/broker/server.ts";
import { PresenceSnapshots } from "../src/broker/presence-snapshot.ts";
import { randomId } from "../src/crypto/hash.ts";

const { values } = parseArgs({ options: { sync: { type: "string", default: "full" }, presences: { type: "string", default: "1000,5000,10000" }, rounds: { type: "string", default: "9" } } });
const hex = (bytes: number) => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");

const dataDir = mkdtempSync(join(tmpdir(), "cm-probe-snapshot-"));
// presenceGrace 0: the broker runs no snapshots of its own beside the ones measured.
const config = loadBrokerConfig({ flags: { port: 0, dataDir, synchronous: values.sync, presenceGrace: "0s" } as never, env: {} });
const store = await openSqliteStore({ dataDir, synchronous: config.synchronous, checkpoints: "background" });
const broker = await createBroker({ config, store, log: jsonLog("warn", () => {}), defaultMetrics: false });
const hub = broker.ctx.hub;

/** Adds presences to the hub until it holds `n`: 20 members' sessions in 10 meshes. */
function fill(n: number): void {
  for (let i = hub.size; i < n; i++) {
    const m = i % 20;
    const identity = {
      meshId: `mesh${i % 10}-${"x".repeat(16)}`,
      memberId: randomId(),
      memberPubkey: hex(32),
      role: "member" as const,
      kind: "session" as const,
      pubkey: hex(32),
      displayName: `member${m}/app-${i}`,
      attestation: { sessionPubkey: hex(32), parentMemberPubkey: hex(32), expiresAt: Date.now() + 3_600_000, signature: hex(64) },
    };
    const where = { sessionId: crypto.randomUUID(), pid: 10_000 + i, cwd: `/home/user${m}/projects/some-repo-${i}`, hostname: `laptop-${m}` };
    const status = i % 3 === 0 ? ("working" as const) : ("idle" as const);
    hub.carry(identity, where, { status, summary: "refactoring the order service and its tests" }, Date.now() - 600_000, Date.now(), 600_000);
  }
}

// Each measured snapshot is the first of its own PresenceSnapshots: it writes the record (not the
// note), and SNAPSHOT_BYTES_PER_SEC does not hold it back.

/** The CPU time (ms) of one snapshot. */
async function cpuOf(): Promise<number> {
  const snapshots = new PresenceSnapshots(broker.ctx);
  const before = process.cpuUsage();
  await snapshots.tick();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

/** One snapshot, with the longest gap between turns of a setImmediate loop running beside it. */
async function stallOf(): Promise<number> {
  const snapshots = new PresenceSnapshots(broker.ctx);
  let last = performance.now();
  let stall = 0;
  let running = true;
  const loop = () => {
    const t = performance.now();
    stall = Math.max(stall, t - last);
    last = t;
    if (running) setImmediate(loop);
  };
  setImmediate(loop);
  await snapshots.tick();
  running = false;
  await new Promise((r) => setImmediate(r));
  return stall;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`synchronous=${values.sync}, median of ${values.rounds} snapshots each`);
for (const n of values.presences!.split(",").map(Number)) {
  fill(n);
  await cpuOf(); // warm-up
  const cpu: number[] = [];
  const stalls: number[] = [];
  for (let r = 0; r < Number(values.rounds); r++) cpu.push(await cpuOf());
  for (let r = 0; r < Number(values.rounds); r++) stalls.push(await stallOf());
  const text = (await store.getMeta("carried_presences"))!;
  const kept = (JSON.parse(text) as { presences: unknown[] }).presences.length;
  console.log(
    `${n} presences: record ${(Buffer.byteLength(text) / 1024).toFixed(0)} KiB (${kept} kept, ${(Buffer.byteLength(text) / kept).toFixed(0)} B each),`,
    `CPU ${median(cpu).toFixed(2)} ms, longest stall ${median(stalls).toFixed(2)} ms (max ${Math.max(...stalls).toFixed(2)})`,
  );
}
hub.stopTimers();
await broker.stop();
rmSync(dataDir, { recursive: true, force: true });
