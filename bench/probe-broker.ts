// Diagnostic, not part of `bun run bench`: the broker's own CPU per relayed message with the
// network taken out. A real broker (real store, group commit, routing, codec) runs in this
// process; its connections are Conn objects on in-memory transports, fed the same frames the
// bench peers send. Each round, BATCH peers each send one DM (frames handed in one turn, as a
// busy socket loop would), and every push is acked in the next turn. Reports CPU µs per message
// (process user+system time), which the shared machine's noise barely moves, unlike throughput.
// Run: bun run bench/probe-broker.ts [--sync full|normal] [--batch 20] [--messages 40000]
// With the collector off, `BUN_JSC_useGC=0 bun bench/probe-broker.ts --garbage ...` also reports
// what the measured messages allocated (nothing is freed): the allocator's bytes and the heap's
// objects per message (docs/benchmarks.md, "Session 34: garbage per message").
// `--survivors` counts instead what one eden collection keeps of the messages since the last full
// collection, per message and by cell type: what the collector promotes, which a later full
// collection must find dead (docs/benchmarks.md, "Session 39"). Run it with `--warmup 20000`, so
// that the broker's tables are past their first growth.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadBrokerConfig } from "../src/config/load.ts";
import { jsonLog } from "../src/log/log.ts";
import { openSqliteStore } from "../src/store/sqlite/open-store.ts";
import { createBroker } from "../src/broker/server.ts";
import { Conn } from "../src/broker/conn.ts";
import { onMessage, onOpen } from "../src/broker/ws/session.ts";
import { buildHello } from "../src/client/credentials.ts";
import { setupMesh, type Member } from "./setup.ts";
import { CIPHERTEXT } from "./peers.ts";

const { values } = parseArgs({ options: { sync: { type: "string", default: "full" }, batch: { type: "string", default: "20" }, messages: { type: "string", default: "40000" }, peers: { type: "string", default: "100" }, garbage: { type: "boolean", default: false }, survivors: { type: "boolean", default: false }, warmup: { type: "string", default: "2000" } } });
if (values.garbage && process.env.BUN_JSC_useGC !== "0") {
  console.error("--garbage counts what was allocated, which only holds with the collector off: run it as BUN_JSC_useGC=0 bun bench/probe-broker.ts --garbage ...");
  process.exit(2);
}
const BATCH = Number(values.batch);
const MESSAGES = Number(values.messages);
const PEERS = Number(values.peers);
const NONCE = randomBytes(24).toString("base64");

const dataDir = mkdtempSync(join(tmpdir(), "cm-probe-broker-"));
// As bench/servers.ts LOAD_FLAGS: no per-member rate limit, no connection caps, no quota, no
// per-address bound on unread output or claims.
const unlimited = { sendRate: 1_000_000, sendBurst: 1_000_000, maxConnectionsPerIp: 1_000_000, maxConnectionsPerMesh: 1_000_000, queueQuota: 10_000_000, maxUnsentPerIp: 64 * 1024 ** 3, claimBurst: 1_000_000 };
const config = loadBrokerConfig({ flags: { port: 0, dataDir, synchronous: values.sync, ...unlimited } as never, env: {} });
const store = await openSqliteStore({ dataDir, synchronous: config.synchronous, checkpoints: "background" });
const broker = await createBroker({ config, store, log: jsonLog("warn", () => {}), defaultMetrics: false });

// Members are enrolled through the real HTTP flows; their connections are in-memory.
const { members } = await setupMesh(broker.url, broker.url.replace(/^http/, "ws") + "/ws", PEERS);
// A push's messageId, read without parsing (the probe's own work should stay small).
const ID_AT = '{"type":"message","messageId":"'.length;
type Peer = { member: Member; conn: Conn; acks: string[] };
let pushed = 0;
const peers: Peer[] = members.map((member) => {
  const acks: string[] = [];
  const send = (t: string) => {
    if (t.startsWith('{"type":"message"')) {
      acks.push(t.slice(ID_AT, t.indexOf('"', ID_AT)));
      pushed++;
    }
    return true;
  };
  const conn = new Conn({ remoteAddress: "probe", send, close: () => {}, ping: () => {}, pauseReading: () => {}, buffered: () => 0 }, broker.ctx.bootId);
  return { member, conn, acks };
});
for (const p of peers) {
  onOpen(broker.ctx, p.conn);
  const where = { sessionId: crypto.randomUUID(), pid: process.pid, cwd: "/probe", hostname: "probe" };
  onMessage(broker.ctx, p.conn, JSON.stringify(buildHello({ kind: "member", meshId: p.member.meshId, memberId: p.member.memberId, keys: p.member.keys }, where)));
}
while (peers.some((p) => !p.conn.ready)) await Bun.sleep(10);
/** A frame handed in as the server's socket handler does (server.ts): counted as work, so that the
 *  idle collector (idle-collect.ts) does not take the probe's busy second for an idle one. */
const handle = (conn: Conn, text: string) => {
  broker.ctx.idle.busy();
  onMessage(broker.ctx, conn, text);
};

const turn = () => new Promise<void>((r) => setImmediate(r));
let seq = 0;
async function round(from: number): Promise<void> {
  for (let k = 0; k < BATCH; k++) {
    const i = (from + k) % PEERS;
    const to = peers[(i + 1) % PEERS]!.member.keys.publicKey;
    handle(peers[i]!.conn, `{"type":"send","id":${++seq},"to":"${to}","clientMessageId":"p${i}_${seq}_probe00","nonce":"${NONCE}","ciphertext":"${CIPHERTEXT}","priority":"now"}`);
  }
  // Let the group commit and the pushes happen, then ack what arrived (one frame per peer).
  const want = pushed + BATCH;
  while (pushed < want) await turn();
  for (let k = 0; k <= BATCH; k++) {
    const p = peers[(from + k) % PEERS]!;
    if (p.acks.length > 0) handle(p.conn, `{"type":"ack","messageIds":["${p.acks.splice(0).join('","')}"]}`);
  }
}

for (let i = 0; i < Number(values.warmup) / BATCH; i++) await round(i * BATCH); // warm-up
if (values.survivors) {
  await survivors(40); // once for the code it runs for the first time
  console.log(JSON.stringify(await survivors(40)));
  await broker.stop();
  rmSync(dataDir, { recursive: true, force: true });
  process.exit(0);
}
const jsc = values.garbage ? await import("bun:jsc") : null;
const heapObjects = () => Object.values(jsc!.heapStats().objectTypeCounts).reduce((a, b) => a + b, 0);
const g0 = jsc && { bytes: jsc.memoryUsage().current, objects: heapObjects() };
const c0 = process.cpuUsage();
const t0 = performance.now();
const start = pushed;
for (let i = 0; pushed - start < MESSAGES; i++) await round(i * BATCH);
const cpu = process.cpuUsage(c0);
const n = pushed - start;
const garbage = g0 && { allocBytesPerMsg: Math.round((jsc!.memoryUsage().current - g0.bytes) / n), objectsPerMsg: +((heapObjects() - g0.objects) / n).toFixed(1) };
console.log(JSON.stringify({ sync: values.sync, batch: BATCH, messages: n, cpuUsPerMsg: +((cpu.user + cpu.system) / n).toFixed(1), wallMs: Math.round(performance.now() - t0), ...garbage }));
await broker.stop();
rmSync(dataDir, { recursive: true, force: true });

/** A WeakRef that any collection from now on clears: its target is made in a frame of its own, so
 *  that no register or stack slot of the caller's keeps it. */
function collectionCanary(): WeakRef<object> {
  return new WeakRef({ made: performance.now() });
}

/** Cells of the heap by type that an eden collection in the middle of round `rounds` keeps of the
 *  rounds since a full collection, per message. Counts, not times: a busy machine does not move
 *  them. A window in which the collector's timers started a collection of their own (it would have
 *  promoted what was in flight then as well) is run again. */
async function survivors(rounds: number): Promise<{ rounds: number; messages: number; cellsPerMsg: number; byType: Record<string, number>; windowsRunAgain: number }> {
  const { edenGC, fullGC, heapStats } = await import("bun:jsc");
  const counts = () => heapStats().objectTypeCounts;
  for (let again = 0; ; again++) {
    fullGC();
    const before = counts();
    const canary = collectionCanary();
    const from = pushed;
    for (let i = 0; i < rounds - 1; i++) await round(i * BATCH);
    // The last round's frames are handed in, and the collection runs while they are in flight.
    const last = round((rounds - 1) * BATCH);
    const clean = canary.deref() !== undefined;
    edenGC();
    const after = counts();
    await last;
    if (!clean && again < 20) continue;
    const messages = pushed - from;
    const byType = Object.fromEntries(
      Object.entries(after)
        .map(([type, n]) => [type, +((n - (before[type] ?? 0)) / messages).toFixed(2)] as const)
        .filter(([, n]) => Math.abs(n) >= 0.05)
        .sort((a, b) => b[1] - a[1]),
    );
    const total = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);
    return { rounds, messages, cellsPerMsg: +((total(after) - total(before)) / messages).toFixed(2), byType, windowsRunAgain: again };
  }
}
