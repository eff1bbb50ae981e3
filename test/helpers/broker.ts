// A real broker on port 0 with a real SQLite file in a temp dir. `await using b = await startBroker()`
// stops it and removes the directory at the end of the scope.
import { rmSync } from "node:fs";
import { loadBrokerConfig } from "../../src/config/load.ts";
import { SETTINGS, type SettingKey } from "../../src/config/spec.ts";
import { jsonLog } from "../../src/log/log.ts";
import { tempDir } from "./temp-dir.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";
import { openSqliteStore } from "../../src/store/sqlite/open-store.ts";
import { checkpointLogger, createBroker, type Broker } from "../../src/broker/server.ts";
import type { IdleCollector } from "../../src/broker/idle-collect.ts";

const DURATIONS = new Set<string>(SETTINGS.filter((s) => s.kind.type === "duration").map((s) => s.key));

export type TestBroker = Broker & { dataDir: string; logs: string[]; [Symbol.asyncDispose](): Promise<void> };

/** `over`: settings for this broker; a duration as a number is milliseconds (given to the config
 *  with its unit, since a number without one under a second is refused). `now`: the broker's wall
 *  clock from the start, for every part of it (brokerClock moves ctx.now alone, later). */
export async function startBroker(over: Partial<Record<SettingKey, unknown>> = {}, opts: { dataDir?: string; keepData?: boolean; idle?: IdleCollector; now?: () => number } = {}): Promise<TestBroker> {
  const dataDir = opts.dataDir ?? tempDir("cm-broker-");
  const withUnits = Object.fromEntries(Object.entries(over).map(([k, v]) => [k, DURATIONS.has(k) && typeof v === "number" ? `${v}ms` : v]));
  const config = loadBrokerConfig({ flags: { port: 0, dataDir, synchronous: "normal", sendRate: 100_000, sendBurst: 100_000, ...withUnits } as never, env: {} });
  const logs: string[] = [];
  const log = jsonLog("debug", (l) => logs.push(l));
  // As `claudemesh serve` opens it: with the background checkpointer.
  const store = await openSqliteStore({ dataDir, synchronous: config.synchronous, checkpoints: "background", onCheckpointReport: checkpointLogger(log) });
  const broker = await createBroker({ config, store, log, defaultMetrics: false, idle: opts.idle, now: opts.now });
  return Object.assign(broker, {
    dataDir,
    logs,
    async [Symbol.asyncDispose]() {
      await broker.stop();
      if (!opts.keepData && !opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

/** Sets the broker's clock `offsetMs` from the test's (the clients'): what it judges TTLs, expiries
 *  and timestamps by (ctx.now), so a test moves past a TTL without waiting for it. */
export function brokerClock(b: TestBroker, offsetMs: number): void {
  (b.ctx as { now: () => number }).now = () => Date.now() + offsetMs;
}

/** Re-exported for the tests that import it from here. */
export { tempDir } from "./temp-dir.ts";

/** Gives a member a display name in the broker's database directly, as an older broker stored
 *  names that today's schema refuses (src/protocol/names.ts): enrol under a name it takes, then
 *  this. The roster cache is dropped so the next list reads it. */
export function storedName(b: TestBroker, meshId: string, memberId: string, name: string): void {
  (b.ctx.store as SqliteStore).db.query("UPDATE members SET display_name = ? WHERE id = ?").run(name, memberId);
  b.ctx.roster.invalidate(meshId);
}

/** Gives a session a name an older broker took and today's refuses (one not starting with its
 *  member's name and "/": protocol.md §4.3.2): its stored row and, while connected, the name it
 *  goes by. Connect it under an allowed name first, then this. */
export function storedSessionName(b: TestBroker, meshId: string, pubkey: string, name: string): void {
  (b.ctx.store as SqliteStore).db.query("UPDATE sessions SET display_name = ? WHERE mesh_id = ? AND pubkey = ?").run(name, meshId, pubkey);
  const live = b.ctx.hub.get(meshId, pubkey);
  if (live) live.identity.displayName = name;
  b.ctx.roster.invalidate(meshId);
}
