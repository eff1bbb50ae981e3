// Durations as people read them (first-run review L4): `serve --help` showed
// `[default: 604800000]` and a bad value said `must be an integer in [1000, 31536000000]`; both
// now use the units docs/operations.md uses (7d, 10s), and a value outside the range says how a
// bare number is read. A number without a unit under a second is refused (session 19).
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
    ["a bare number", { messageTtl: "5" }, 'messageTtl from --message-ttl: 5 ms is below the minimum of 1s (a number without a unit is milliseconds); write 5s (got "5")'],
    ["too long", { messageTtl: "400d" }, 'messageTtl from --message-ttl: must be between 1s and 365d (got "400d")'],
    ["too short", { helloTimeout: "50ms" }, 'helloTimeout from --hello-timeout: must be between 100ms and 1m (got "50ms")'],
    ["a number from a config file", { presenceGrace: 700_000 }, "presenceGrace from --presence-grace: must be between 0s and 10m; a number without a unit is milliseconds (got 700000)"],
    // Integers keep their wording.
    ["an integer setting", { maxFrameBytes: "5" }, 'maxFrameBytes from --max-frame-bytes: must be an integer in [1024, 1048576] (got "5")'],
  ])("%s is refused in human units", (_, flags, message) => {
    expect(refusal(flags)).toBe(message);
  });

  // A number without a unit is milliseconds, and one under a second was meant in seconds far more
  // often: `--drain-timeout 5` drained for 5 ms and `--presence-grace 30` showed 30ms, while
  // `--hello-timeout 10` was refused. Now every duration refuses it, saying what to write.
  test.each([
    [{ drainTimeout: "30" }, "drainTimeout from --drain-timeout: 30 ms is below the minimum of 1s (a number without a unit is milliseconds); write 30s (got \"30\")"],
    [{ drainTimeout: 30 }, "drainTimeout from --drain-timeout: 30 ms is below the minimum of 1s (a number without a unit is milliseconds); write 30s (got 30)"],
    [{ drainTimeout: "0" }, 'drainTimeout from --drain-timeout: must be between 1s and 10m (got "0")'],
    [{ drainTimeout: "500ms" }, 'drainTimeout from --drain-timeout: must be between 1s and 10m (got "500ms")'],
    [{ presenceGrace: "30" }, 'presenceGrace from --presence-grace: 30 ms is below the minimum of 1s for a number without a unit; write 30s, or 30ms if you mean milliseconds (got "30")'],
    [{ pingInterval: "30" }, 'pingInterval from --ping-interval: 30 ms is below the minimum of 1s for a number without a unit; write 30s (got "30")'],
    [{ pingInterval: "900" }, 'pingInterval from --ping-interval: 900 ms is below the minimum of 1s for a number without a unit; write 900ms if you mean milliseconds (got "900")'],
    [{ helloTimeout: "90" }, 'helloTimeout from --hello-timeout: 90 ms is below the minimum of 1s for a number without a unit; write it with a unit: it must be between 100ms and 1m (got "90")'],
    [{ dedupWindow: "999" }, 'dedupWindow from --dedup-window: 999 ms is below the minimum of 1s (a number without a unit is milliseconds); write 999s (got "999")'],
  ])("a duration without a unit under a second is refused: %j", (flags, message) => {
    expect(refusal(flags)).toBe(message);
  });

  test("every duration refuses a unitless number under a second, and takes one from a second up", () => {
    const durations = SETTINGS.filter((s) => s.kind.type === "duration");
    expect(durations.filter((s) => refusal({ [s.key]: "999" }) === null).map((s) => s.key)).toEqual([]);
    expect(durations.filter((s) => refusal({ [s.key]: "1000" }) !== null).map((s) => s.key)).toEqual([]);
  });

  test("a fraction of a millisecond is refused, not rounded past a minimum or down to 0; a whole one written with a fraction is taken", () => {
    expect(refusal({ helloTimeout: "99.5ms" })).toContain("must be a whole number of milliseconds");
    expect(refusal({ presenceGrace: "0.4ms" })).toContain("must be a whole number of milliseconds");
    const c = loadBrokerConfig({ flags: { helloTimeout: "1.1s", drainTimeout: "1.5m" } as never, env: {} });
    expect([c.helloTimeout, c.drainTimeout]).toEqual([1100, 90_000]);
  });

  test("what is accepted is unchanged", () => {
    const c = loadBrokerConfig({ flags: { messageTtl: "1000", dedupWindow: "5m", helloTimeout: "100ms", presenceGrace: 0, pingInterval: "200ms", drainTimeout: "1500" } as never, env: {} });
    expect([c.messageTtl, c.dedupWindow, c.helloTimeout, c.presenceGrace, c.pingInterval, c.drainTimeout]).toEqual([1000, 300_000, 100, 0, 200, 1500]);
  });
});
