// Pins src/protocol/codec.ts as docs/protocol.md §4.1 describes it: size → depth → JSON → type →
// schema, each failure a MeshError with its own code, and request-id recovery for error replies.
import { describe, expect, test } from "bun:test";
import { decodeClientFrame, decodeServerFrame, jsonDepth, parseJsonBounded, recoverRequestId } from "../../src/protocol/codec.ts";
import { MeshError } from "../../src/protocol/errors.ts";
import { MAX_FRAME_BYTES, MAX_JSON_DEPTH } from "../../src/protocol/limits.ts";

/** The error code `fn` throws, or "ok". Anything that is not a MeshError fails the test. */
function codeOf(fn: () => unknown): string {
  try {
    fn();
    return "ok";
  } catch (err) {
    if (!(err instanceof MeshError)) throw err;
    return err.code;
  }
}

function errorOf(fn: () => unknown): MeshError {
  try {
    fn();
  } catch (err) {
    if (err instanceof MeshError) return err;
    throw err;
  }
  throw new Error("expected a MeshError");
}

/** A JSON string literal whose whole text is exactly `bytes` UTF-8 bytes. */
const jsonStringOfBytes = (bytes: number, fill = "a") => `"${fill.repeat(bytes - 2)}"`;
/** `depth` nested arrays. */
const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);

const K = "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c";
const SEND = { type: "send", id: "1", to: K, clientMessageId: "cm_01JG8Z4W6YQ3", nonce: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYX", ciphertext: "aGVsbG8=" };

describe("size", () => {
  test("a frame of exactly the byte limit passes the size check; one byte more is frame_too_large", () => {
    expect(codeOf(() => parseJsonBounded(jsonStringOfBytes(MAX_FRAME_BYTES)))).toBe("ok");
    expect(codeOf(() => parseJsonBounded(jsonStringOfBytes(MAX_FRAME_BYTES + 1)))).toBe("frame_too_large");
  });

  test("the limit counts UTF-8 bytes, not UTF-16 code units", () => {
    // "é" is one UTF-16 unit but two UTF-8 bytes.
    const atLimit = `"${"é".repeat((MAX_FRAME_BYTES - 2) / 2)}"`;
    expect(atLimit.length).toBeLessThan(MAX_FRAME_BYTES);
    expect(codeOf(() => parseJsonBounded(atLimit))).toBe("ok");
    expect(codeOf(() => parseJsonBounded(`"${"é".repeat((MAX_FRAME_BYTES - 2) / 2)}a"`))).toBe("frame_too_large");
  });

  test("a real send frame padded to the limit decodes; one byte more does not", () => {
    const base = JSON.stringify({ ...SEND, ciphertext: "" });
    const pad = (n: number) => JSON.stringify({ ...SEND, ciphertext: "A".repeat(n) });
    const fits = MAX_FRAME_BYTES - base.length;
    // The schema caps ciphertext below the frame limit, so at the limit the error is the schema's.
    expect(codeOf(() => decodeClientFrame(pad(fits)))).toBe("invalid_frame");
    expect(codeOf(() => decodeClientFrame(pad(fits + 1)))).toBe("frame_too_large");
    expect(codeOf(() => decodeClientFrame(pad(1000)))).toBe("ok");
  });

  test("a custom limit (the broker's maxFrameBytes) is honoured", () => {
    expect(codeOf(() => decodeClientFrame(JSON.stringify(SEND), 100))).toBe("frame_too_large");
  });
});

describe("depth", () => {
  test(`${MAX_JSON_DEPTH} levels pass, ${MAX_JSON_DEPTH + 1} are too_deep`, () => {
    expect(codeOf(() => parseJsonBounded(nested(MAX_JSON_DEPTH)))).toBe("ok");
    expect(codeOf(() => parseJsonBounded(nested(MAX_JSON_DEPTH + 1)))).toBe("too_deep");
    expect(codeOf(() => decodeClientFrame(nested(MAX_JSON_DEPTH + 1)))).toBe("too_deep");
  });

  test("mixed nesting is counted across objects and arrays together", () => {
    const mixed = (levels: number) => {
      let t = "1";
      for (let i = 0; i < levels; i++) t = i % 2 ? `{"k":${t}}` : `[${t}]`;
      return t;
    };
    expect(codeOf(() => parseJsonBounded(mixed(MAX_JSON_DEPTH)))).toBe("ok");
    expect(codeOf(() => parseJsonBounded(mixed(MAX_JSON_DEPTH + 1)))).toBe("too_deep");
  });

  test("objects and arrays count alike; brackets inside strings do not count", () => {
    expect(jsonDepth(`{"a":[{"b":[1]}]}`)).toBe(4);
    expect(jsonDepth(`{"a":"[[[[{{{{","b":"\\"[[["}`)).toBe(1);
    expect(codeOf(() => parseJsonBounded(`{"s":"${"[".repeat(1000)}"}`))).toBe("ok");
  });

  test("10,000 levels are too_deep, without a RangeError from recursion", () => {
    const deep = nested(10_000);
    expect(codeOf(() => decodeClientFrame(deep))).toBe("too_deep");
    expect(codeOf(() => decodeServerFrame(`{"type":"result","id":1,"data":${"{\"a\":".repeat(10_000)}1${"}".repeat(10_000)}}`))).toBe("too_deep");
  });

  test("the depth check runs before JSON parsing (unbalanced deep text is too_deep, not invalid_json)", () => {
    expect(codeOf(() => parseJsonBounded("[".repeat(MAX_JSON_DEPTH + 1)))).toBe("too_deep");
  });

  // JSON.parse keeps the last value of a repeated key: the depth of the text, not of the parsed
  // value, is what counts, or a valid frame could carry a deep value nothing looks at.
  test("a deep value under a repeated key is too_deep, though the parsed frame would be valid", () => {
    const hidden = `{"type":"list_peers","id":${nested(MAX_JSON_DEPTH + 1)},"id":"r1"}`;
    expect(codeOf(() => JSON.parse(hidden) && decodeClientFrame(hidden))).toBe("too_deep");
    expect(codeOf(() => decodeClientFrame(`{"type":"list_peers","id":"r1"}`))).toBe("ok");
  });
});

describe("syntax, type and schema", () => {
  test.each([
    ["garbage", "hello there"],
    ["truncated", '{"type":"send"'],
    ["trailing comma", '{"type":"list_peers","id":"1",}'],
    ["empty", ""],
  ])("%s → invalid_json", (_, text) => {
    expect(codeOf(() => decodeClientFrame(text))).toBe("invalid_json");
  });

  test.each([
    ["unknown type", '{"type":"nope"}'],
    ["missing type", '{"id":"1"}'],
    ["non-string type", '{"type":7}'],
    ["server frame sent by a client", '{"type":"result","id":"1","data":{}}'],
  ])("%s → unknown_type", (_, text) => {
    expect(codeOf(() => decodeClientFrame(text))).toBe("unknown_type");
  });

  test("the unknown_type message names the type, or says there is none", () => {
    const messageOf = (text: string) => {
      try {
        decodeClientFrame(text);
      } catch (err) {
        return (err as MeshError).message;
      }
    };
    expect([messageOf('{"type":"nope"}'), messageOf('{"id":"1"}'), messageOf('{"type":7}')]).toEqual([
      'Unknown frame type "nope".',
      "The frame has no `type` field.",
      "Unknown frame type 7.",
    ]);
  });

  // protocol.md §4.1: JSON.parse keeps the last of repeated keys; the schema checks that value,
  // and the id recovered for an error is the same one.
  test("a repeated key counts with its last value", () => {
    expect(decodeClientFrame('{"type":"list_peers","id":"d1","id":"d2"}')).toEqual({ type: "list_peers", id: "d2" });
    expect(recoverRequestId('{"type":"nope","id":"d1","id":"d2"}')).toBe("d2");
    expect(codeOf(() => decodeClientFrame('{"type":"set_status","id":"1","status":"idle","status":"busy"}'))).toBe("invalid_frame");
  });

  test.each([
    ["array", "[]"],
    ["null", "null"],
    ["number", "42"],
    ["string", '"send"'],
  ])("%s at the top level → invalid_frame", (_, text) => {
    expect(codeOf(() => decodeClientFrame(text))).toBe("invalid_frame");
  });

  // I-JSON (RFC 7493 §2.1): such a string is no Unicode text, and stored as UTF-8 it would come
  // back as U+FFFD: accepted, then read back changed.
  test("a string or key with an unpaired surrogate escape is invalid_frame naming where; paired ones decode", () => {
    for (const [text, at] of [
      ['{"type":"set_summary","id":"1","summary":"deploys \\ud800 only"}', "/summary"],
      ['{"type":"set_summary","id":"1","summary":"\\uDC00"}', "/summary"],
      ['{"type":"topic_create","id":"1","name":"x","description":"\\ude00\\ud83d"}', "/description"],
      ['{"type":"list_peers","id":"1","\\udbff":1}', "/\udbff"],
    ] as const) {
      const err = errorOf(() => decodeClientFrame(text));
      expect({ text, code: err.code, at: err.message.includes(`at ${at} holds an unpaired UTF-16 surrogate`) }).toEqual({ text, code: "invalid_frame", at: true });
    }
    expect(decodeClientFrame('{"type":"set_summary","id":"1","summary":"\\ud83d\\ude00 ok"}')).toMatchObject({ summary: "\u{1F600} ok" });
    expect(codeOf(() => decodeServerFrame('{"type":"event","event":"peer_left","data":{"name":"\\ud800"}}'))).toBe("invalid_frame");
  });

  test("a send frame with an extra field is invalid_frame, and the message names the field", () => {
    const err = errorOf(() => decodeClientFrame(JSON.stringify({ ...SEND, extra: 1 })));
    expect(err.code).toBe("invalid_frame");
    expect(err.message).toContain("/extra");
  });

  test("a missing or out-of-bounds field is invalid_frame naming it", () => {
    const { nonce: _, ...noNonce } = SEND;
    expect(errorOf(() => decodeClientFrame(JSON.stringify(noNonce))).message).toContain("/nonce");
    expect(errorOf(() => decodeClientFrame(JSON.stringify({ ...SEND, to: K.toUpperCase() }))).message).toContain("/to");
    expect(errorOf(() => decodeClientFrame(JSON.stringify({ ...SEND, ttlMs: 999 }))).message).toContain("/ttlMs");
  });

  test("a __proto__ key is invalid_frame and pollutes nothing", () => {
    const text = `{"type":"send","id":"1","to":"${K}","clientMessageId":"cm_01JG8Z4W6YQ3","nonce":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYX","ciphertext":"aGVsbG8=","__proto__":{"polluted":true}}`;
    expect(codeOf(() => decodeClientFrame(text))).toBe("invalid_frame");
    expect(codeOf(() => decodeClientFrame('{"__proto__":{"type":"list_peers"},"id":"1"}'))).toBe("unknown_type");
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
  });

  test("valid frames decode to the same value", () => {
    expect(decodeClientFrame(JSON.stringify(SEND))).toEqual(SEND as never);
    expect(decodeClientFrame('{"type":"ack","messageIds":["V2v9XPbLWac9Jffr0TjYog"]}')).toEqual({ type: "ack", messageIds: ["V2v9XPbLWac9Jffr0TjYog"] });
    expect(decodeServerFrame('{"type":"result","id":3,"data":null}')).toEqual({ type: "result", id: 3, data: null });
  });

  test("checks run in order: size before depth before syntax", () => {
    const big = nested(MAX_JSON_DEPTH + 1) + " ".repeat(MAX_FRAME_BYTES);
    expect(codeOf(() => decodeClientFrame(big))).toBe("frame_too_large");
    expect(codeOf(() => decodeClientFrame(nested(MAX_JSON_DEPTH + 1) + "garbage"))).toBe("too_deep");
  });
});

describe("recoverRequestId", () => {
  test.each([
    ["string id of an invalid frame", JSON.stringify({ ...SEND, extra: 1 }), "1"],
    ["numeric id", '{"type":"nope","id":42}', 42],
    ["id 0", '{"type":"fetch","id":0,"limit":0}', 0],
    ["64-character id", `{"id":"${"x".repeat(64)}"}`, "x".repeat(64)],
  ])("%s → recovered", (_, text, id) => {
    expect(recoverRequestId(text)).toBe(id);
  });

  test.each([
    ["65-character id", `{"id":"${"x".repeat(65)}"}`],
    ["fractional id", '{"id":1.5}'],
    ["unsafe integer id", '{"id":9007199254740993}'],
    ["object id", '{"id":{"a":1}}'],
    ["no id", '{"type":"send"}'],
    ["invalid JSON", '{"id":"1",'],
    ["top-level null", "null"],
    ["top-level array", '["id"]'],
    ["too deep", `{"id":"1","x":${nested(MAX_JSON_DEPTH + 1)}}`],
    ["too large", `{"id":"1","x":"${"a".repeat(MAX_FRAME_BYTES)}"}`],
    // Fewer UTF-16 units than the limit, more UTF-8 bytes: too large, as step 1 counts it.
    ["too large in UTF-8 bytes only", `{"id":"1","x":"${"💥".repeat(MAX_FRAME_BYTES / 4)}"}`],
  ])("%s → undefined", (_, text) => {
    expect(recoverRequestId(text)).toBeUndefined();
  });
});
