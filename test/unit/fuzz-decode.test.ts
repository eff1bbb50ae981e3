// The client-frame decoder under hostile input (reliability plan T12, in-process half; the socket
// half is test/integration/fuzz-frames.test.ts): every text either decodes to a frame that
// survives a round trip or is refused with one of the decoding codes of protocol.md §4.1 —
// never another exception — and nothing it parses reaches Object.prototype.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { decodeClientFrame, recoverHelloVersion, recoverRequestId } from "../../src/protocol/codec.ts";
import { clientExamples, hostileFrame, verdict } from "../helpers/frame-fuzz.ts";

const DECODE_CODES = ["frame_too_large", "too_deep", "invalid_json", "unknown_type", "invalid_frame"];
const seeds = clientExamples();

describe("client frame decoder, fuzzed", () => {
  test("the examples it mutates are the protocol's own, and all decode", () => {
    expect(seeds.length).toBeGreaterThanOrEqual(25);
    for (const s of seeds) expect(verdict(JSON.stringify(s))).toEqual({ valid: true });
  });

  test("20,000 hostile texts: a valid frame or a decoding error, never a crash or pollution", () => {
    let refused = 0;
    fc.assert(
      fc.property(hostileFrame(seeds), (text) => {
        const v = verdict(text);
        if (v.valid) {
          const again = JSON.stringify(decodeClientFrame(text));
          expect(JSON.stringify(decodeClientFrame(again))).toBe(again);
        } else {
          refused++;
          expect(DECODE_CODES).toContain(v.code);
        }
        const version = recoverHelloVersion(text);
        expect(version === undefined || typeof version === "number").toBe(true);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: 20_000 },
    );
    // Most mutations must break the frame, or the property says little about refusals.
    expect(refused).toBeGreaterThan(12_000);
  });

  test("a recovered request id is one the protocol allows (1–64 characters, or a safe integer)", () => {
    fc.assert(
      fc.property(hostileFrame(seeds), (text) => {
        const id = recoverRequestId(text);
        if (typeof id === "string") expect(id.length).toBeLessThanOrEqual(64);
        if (typeof id === "number") expect(Number.isSafeInteger(id)).toBe(true);
      }),
      { numRuns: 5_000 },
    );
  });
});
