// The one "did you mean" matcher (src/did-you-mean.ts) for flags, commands, topics, groups and peers.
import { describe, expect, test } from "bun:test";
import { closest } from "../../src/did-you-mean.ts";

describe("closest", () => {
  const newFlags = ["broker", "slug", "display-name", "json"];
  test("a unique prefix", () => {
    expect(closest("prio", ["priority", "json"])).toBe("priority");
    expect(closest("sen", ["send", "serve", "status"])).toBe("send");
  });
  test("a whole word of exactly one name", () => {
    expect(closest("name", newFlags)).toBe("display-name");
    expect(closest("deploys", ["prod-deploys", "general"])).toBe("prod-deploys");
    // two names have it: no guess, and the spelling fallback finds nothing this far off
    expect(closest("name", ["display-name", "file-name"])).toBeNull();
    // too short to say anything
    expect(closest("id", ["mesh-id", "json"])).toBeNull();
  });
  test("else the nearest by spelling, within a bound", () => {
    expect(closest("prot", ["port", "host"])).toBe("port");
    expect(closest("maxFrameBytes", ["max-frame-bytes", "port"])).toBe("max-frame-bytes");
    expect(closest("x", ["port", "host"])).toBeNull();
    expect(closest("", newFlags)).toBeNull();
  });
});
