// Config precedence (flags > env > file > defaults) and validation errors that name the source.
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadBrokerConfig, parseDurationMs } from "../../src/config/load.ts";
import { SETTINGS, envName, flagName } from "../../src/config/spec.ts";

describe("broker config", () => {
  const dir = mkdtempSync(join(tmpdir(), "cm-config-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "c.json");
  writeFileSync(file, JSON.stringify({ port: 7001, sendRate: 5, messageTtl: "2d" }));

  test("defaults", () => {
    const c = loadBrokerConfig({ env: { HOME: "/home/u" } });
    expect({ host: c.host, port: c.port, dataDir: c.dataDir, maxFrameBytes: c.maxFrameBytes, synchronous: c.synchronous }).toEqual({
      host: "127.0.0.1",
      port: 7900,
      dataDir: "/home/u/.local/share/claudemesh",
      maxFrameBytes: 65536,
      synchronous: "full",
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  test("flags beat env, env beats the file, the file beats defaults", () => {
    const c = loadBrokerConfig({ flags: { port: "7003" }, env: { CLAUDEMESH_PORT: "7002", CLAUDEMESH_SEND_RATE: "9" }, configFile: file });
    expect({ port: c.port, sendRate: c.sendRate, messageTtl: c.messageTtl }).toEqual({ port: 7003, sendRate: 9, messageTtl: 2 * 86_400_000 });
  });

  test.each([
    [{ flags: { port: "70000" } }, "port from --flag"],
    [{ env: { CLAUDEMESH_SYNCHRONOUS: "off" } }, "synchronous from CLAUDEMESH_SYNCHRONOUS"],
    [{ env: { CLAUDEMESH_HELLO_TIMEOUT: "soon" } }, "helloTimeout from CLAUDEMESH_HELLO_TIMEOUT"],
  ])("invalid values are refused with the key and source (%#)", (src, msg) => {
    expect(() => loadBrokerConfig(src as never)).toThrow(ConfigError);
    expect(() => loadBrokerConfig(src as never)).toThrow(msg);
  });

  test("durations: plain milliseconds or a number with a unit; integers take digits only", () => {
    const c = loadBrokerConfig({ env: { CLAUDEMESH_HELLO_TIMEOUT: " 500ms ", CLAUDEMESH_PING_INTERVAL: "1.5m", CLAUDEMESH_PRESENCE_GRACE: "90000", CLAUDEMESH_DEDUP_WINDOW: "2h", CLAUDEMESH_QUEUE_QUOTA: " 42 " }, flags: { drainTimeout: 30 } });
    expect({ h: c.helloTimeout, p: c.pingInterval, g: c.presenceGrace, d: c.dedupWindow, q: c.queueQuota, t: c.drainTimeout }).toEqual({ h: 500, p: 90_000, g: 90_000, d: 7_200_000, q: 42, t: 30 });
    expect(() => loadBrokerConfig({ env: { CLAUDEMESH_HELLO_TIMEOUT: "5w" } })).toThrow("helloTimeout from CLAUDEMESH_HELLO_TIMEOUT: expected milliseconds or a duration");
    expect(() => loadBrokerConfig({ env: { CLAUDEMESH_QUEUE_QUOTA: "5m" } })).toThrow("queueQuota from CLAUDEMESH_QUEUE_QUOTA: expected an integer");
    expect([parseDurationMs("7d"), parseDurationMs("250"), parseDurationMs("0.5s"), parseDurationMs("soon"), parseDurationMs("-5s")]).toEqual([604_800_000, 250, 500, null, null]);
  });

  test("a config file with an unknown key is refused", () => {
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ prot: 1 }));
    expect(() => loadBrokerConfig({ configFile: bad })).toThrow('unknown key "prot"');
  });

  test("names: env and flag are derived from the key", () => {
    expect([envName("maxFrameBytes"), flagName("maxFrameBytes")]).toEqual(["CLAUDEMESH_MAX_FRAME_BYTES", "max-frame-bytes"]);
    expect(new Set(SETTINGS.map((s) => s.key)).size).toBe(SETTINGS.length);
  });
});
