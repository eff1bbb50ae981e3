// Durations as people read them (first-run review L4): `serve --help` showed
// `[default: 604800000]` and a bad value said `must be an integer in [1000, 31536000000]`; both
// now use the units docs/operations.md uses (7d, 10s), and a value outside the range says how a
// bare number is read. The settings themselves, and what is accepted, are unchanged.
import { describe, expect, test } from "bun:test";
import { ConfigError, loadBrokerConfig } from "../../src/config/load.ts";
import { SETTINGS, defaultText, flagName, formatDurationMs } from "../../src/config/spec.ts";
import { serveArgs } from "../../src/cli/args.ts";

const refusal = (flags: Record<string, unknown>) => {
  try {
    loadBrokerConfig({ flags: flags as never, env: {} });
  } catch (err) {
    return err instanceof ConfigError ? err.message : String(err);
  }
  return null;
};

describe("durations", () => {
  test("formatDurationMs uses the largest unit that divides exactly", () => {
    const cases = [0, 100, 1000, 1500, 10_000, 120_000, 3_600_000, 86_400_000, 7 * 86_400_000, 365 * 86_400_000, 90 * 60_000];
    expect(cases.map(formatDurationMs)).toEqual(["0s", "100ms", "1s", "1500ms", "10s", "2m", "1h", "1d", "7d", "365d", "90m"]);
  });

  test("serve --help writes defaults with units, and lists and computed ones as before", () => {
    const described = (flag: string) => String((serveArgs[flag] as { description?: string }).description).match(/\[default: (.*)\]$/)?.[1];
    expect(["message-ttl", "dedup-window", "hello-timeout", "presence-grace", "port", "trusted-proxies", "data-dir"].map(described)).toEqual(["7d", "2m", "10s", "30s", "7900", "none", "see docs"]);
    const durations = SETTINGS.filter((s) => s.kind.type === "duration");
    expect(durations.map((s) => described(flagName(s.key))).filter((d) => !/^\d+(ms|s|m|h|d)$/.test(d ?? ""))).toEqual([]);
    expect(defaultText(SETTINGS.find((s) => s.key === "drainTimeout")!)).toBe("10s");
  });

  test.each([
    ["a bare number", { messageTtl: "5" }, 'messageTtl from --message-ttl: must be between 1s and 365d; a number without a unit is milliseconds (got "5")'],
    ["too long", { messageTtl: "400d" }, 'messageTtl from --message-ttl: must be between 1s and 365d (got "400d")'],
    ["too short", { helloTimeout: "50ms" }, 'helloTimeout from --hello-timeout: must be between 100ms and 1m (got "50ms")'],
    ["a number from a config file", { presenceGrace: 700_000 }, "presenceGrace from --presence-grace: must be between 0s and 10m; a number without a unit is milliseconds (got 700000)"],
    // Integers keep their wording.
    ["an integer setting", { maxFrameBytes: "5" }, 'maxFrameBytes from --max-frame-bytes: must be an integer in [1024, 1048576] (got "5")'],
  ])("%s is refused in human units", (_, flags, message) => {
    expect(refusal(flags)).toBe(message);
  });

  test("what is accepted is unchanged", () => {
    const c = loadBrokerConfig({ flags: { messageTtl: "1000", dedupWindow: "5m", helloTimeout: "100ms", presenceGrace: 0 } as never, env: {} });
    expect([c.messageTtl, c.dedupWindow, c.helloTimeout, c.presenceGrace]).toEqual([1000, 300_000, 100, 0]);
  });
});
