// resolveBrokerConfig says where each value came from (what `serve --check` prints), by the same
// precedence as loadBrokerConfig: flag > CLAUDEMESH_* variable > config file > default. Choice
// settings are taken in any case (CLAUDEMESH_LOG_LEVEL=DEBUG stopped serve with exit 2).
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, ignoredFileValues, ignoredFileValueText, loadBrokerConfig, resolveBrokerConfig } from "../../src/config/load.ts";
import { tempDir } from "../helpers/broker.ts";

describe("where each setting came from", () => {
  test("flag, variable, file and default, one of each", () => {
    const file = join(tempDir("cm-origins-"), "broker.json");
    writeFileSync(file, JSON.stringify({ port: 7901, host: "127.0.0.2", sendRate: 5 }));
    const { config, origins } = resolveBrokerConfig({ flags: { port: 7902 }, env: { CLAUDEMESH_HOST: "127.0.0.3", HOME: "/home/x" }, configFile: file });
    expect({ port: config.port, host: config.host, sendRate: config.sendRate, ttl: config.messageTtl }).toEqual({ port: 7902, host: "127.0.0.3", sendRate: 5, ttl: 604_800_000 });
    expect([origins.port, origins.host, origins.sendRate, origins.messageTtl, origins.dataDir]).toEqual([
      { kind: "flag", name: "--port", overrides: { fileValue: 7901, value: 7902 } },
      { kind: "env", name: "CLAUDEMESH_HOST", overrides: { fileValue: "127.0.0.2", value: "127.0.0.3" } },
      { kind: "file", name: file },
      { kind: "default", name: "default" },
      { kind: "default", name: "default" },
    ]);
  });
});

// The systemd unit sets CLAUDEMESH_DATA_DIR, which beat a config file's dataDir without a word.
describe("a config file's value that a flag or variable replaced", () => {
  test("is kept with the origin when it differs; one that says the same, or names the same directory, is not", () => {
    const dir = tempDir("cm-origins-");
    const file = join(dir, "broker.json");
    writeFileSync(file, JSON.stringify({ port: 7901, logLevel: "warn", dataDir: "data", drainTimeout: "oops" }));
    const resolved = resolveBrokerConfig({ flags: { port: "7901", drainTimeout: "5s" }, env: { CLAUDEMESH_LOG_LEVEL: "WARN", CLAUDEMESH_DATA_DIR: join(dir, "data") }, configFile: file });
    expect(ignoredFileValues(resolved)).toEqual([{ key: "drainTimeout", file, fileValue: "oops", from: "--drain-timeout", value: "5s" }]);
    expect(resolved.config.drainTimeout).toBe(5000);
    expect(ignoredFileValueText(ignoredFileValues(resolved)[0]!)).toBe(`drainTimeout "oops" in ${file} is ignored: --drain-timeout gives "5s", and a flag beats the config file`);
  });
});

describe("choice settings in any case", () => {
  test("DEBUG, Warn and FULL are taken and kept in lower case; anything else is still refused", () => {
    expect(loadBrokerConfig({ env: { CLAUDEMESH_LOG_LEVEL: "DEBUG" } }).logLevel).toBe("debug");
    const { logLevel, synchronous } = loadBrokerConfig({ flags: { logLevel: "Warn", synchronous: "FULL" } });
    expect({ logLevel, synchronous }).toEqual({ logLevel: "warn", synchronous: "full" });
    expect(() => loadBrokerConfig({ env: { CLAUDEMESH_LOG_LEVEL: "LOUD" } })).toThrow(new ConfigError('logLevel from CLAUDEMESH_LOG_LEVEL: expected one of debug, info, warn, error (got "LOUD")'));
  });
});
