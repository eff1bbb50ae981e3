// The settings in force (src/broker/settings.ts): apply puts every live change of a config in force
// at once and leaves the settings that take a restart as they are; a follower is told, within
// apply, only when one of its keys changed, and already sees every change of the same apply.
import { expect, test } from "bun:test";
import { Settings } from "../../src/broker/settings.ts";
import { loadBrokerConfig, type BrokerConfig } from "../../src/config/load.ts";
import { SETTINGS } from "../../src/config/spec.ts";

const start = loadBrokerConfig({ env: { HOME: "/tmp/cm-settings-home" } });
const next = (change: Partial<BrokerConfig>): BrokerConfig => Object.freeze({ ...start, ...change });

test("live changes are put in force together; restart ones keep their value and are not returned", () => {
  const s = new Settings(start);
  const applied = s.apply(next({ sendRate: 7, maxConnectionsPerIp: 3, port: 9999, maxFrameBytes: 2048, messageTtl: 3_600_000 }));
  expect(applied).toEqual([
    { key: "messageTtl", inForce: start.messageTtl, file: 3_600_000 },
    { key: "sendRate", inForce: 20, file: 7 },
    { key: "maxConnectionsPerIp", inForce: 1024, file: 3 },
  ]);
  expect(s.current).toEqual({ ...start, sendRate: 7, maxConnectionsPerIp: 3, messageTtl: 3_600_000 });
  expect(Object.isFrozen(s.current)).toBe(true);
  // The same file again: nothing changes, nothing is told.
  const before = s.current;
  expect(s.apply(next({ sendRate: 7, maxConnectionsPerIp: 3, port: 9999, maxFrameBytes: 2048, messageTtl: 3_600_000 }))).toEqual([]);
  expect(s.current).toBe(before);
});

test("a follower is told once per apply that changes one of its keys, and sees the whole new set", () => {
  const s = new Settings(start);
  const told: [number, number, number][] = [];
  s.follow(["sendRate", "sendBurst"], (c) => told.push([c.sendRate, c.sendBurst, c.queueQuota]));
  s.apply(next({ queueQuota: 5 }));
  s.apply(next({ queueQuota: 5, sendRate: 1, sendBurst: 2 }));
  s.apply(next({ queueQuota: 6, sendRate: 1, sendBurst: 2 }));
  expect(told).toEqual([[1, 2, 5]]);
});

test("every setting is either live or restart, and the ones fixed at start are restart", () => {
  expect(SETTINGS.filter((x) => x.sighup !== "live" && x.sighup !== "restart")).toEqual([]);
  const restart = SETTINGS.filter((x) => x.sighup === "restart").map((x) => x.key);
  expect(restart).toEqual(["host", "port", "dataDir", "publicUrl", "synchronous", "maxFrameBytes", "pingInterval", "presenceGrace", "topicHistory"]);
});
