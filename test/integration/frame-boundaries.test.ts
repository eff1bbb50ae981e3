// Boundary limits over a real socket (reliability plan T13; protocol.md §2.2, §4.1, §7.2, §8.1).
// A frame of maxFrameBytes − 1 and of exactly maxFrameBytes UTF-8 bytes is handled; one byte more
// is `frame_too_large` before it is parsed (invalid JSON of that size gets the same answer, and no
// id is recovered from it); in the hello state that ends the handshake with 1008. Up to
// 4 × maxFrameBytes the connection stays open; a byte more is closed 1009 by the WebSocket layer.
// Depth 32 passes the depth check, 33 and 10,000 are `too_deep`. An object of 200k keys and a 1 MB
// string field get their errors without harm. After each, the broker answers the next request.
// (The codec's own boundaries are pinned in test/unit/protocol-codec.test.ts.)
import { describe, expect, test } from "bun:test";
import { buildHello } from "../../src/client/credentials.ts";
import { MAX_FRAME_BYTES, MAX_JSON_DEPTH } from "../../src/protocol/limits.ts";
import { startBroker, type TestBroker } from "../helpers/broker.ts";
import { createTestMesh, type TestMember } from "../helpers/mesh.ts";
import { rawSocket, type RawSocket } from "../helpers/raw.ts";

/** `frame` as JSON text of exactly `bytes` UTF-8 bytes: spaces before its closing brace. */
function padded(frame: object, bytes: number): string {
  const text = JSON.stringify(frame);
  const pad = bytes - Buffer.byteLength(text);
  if (pad < 0) throw new Error(`the frame is already ${Buffer.byteLength(text)} bytes`);
  return text.slice(0, -1) + " ".repeat(pad) + "}";
}

const hello = (m: TestMember) => buildHello({ kind: "member", meshId: m.meshId, memberId: m.memberId, keys: m.keys }, { sessionId: "b", pid: 1, cwd: "/" });

async function helloed(b: TestBroker): Promise<{ owner: TestMember; s: RawSocket }> {
  const { owner } = await createTestMesh(b.url);
  const s = await rawSocket(b.url);
  s.send(hello(owner));
  expect((await s.next()).type).toBe("hello_ack");
  return { owner, s };
}

/** The answer to `text`, as type, id and code; then checks the connection still answers. */
async function answer(s: RawSocket, text: string): Promise<{ type: string; id?: unknown; code?: string }> {
  s.send(text);
  const f = await s.next(15_000);
  s.send({ type: "list_peers", id: "next" });
  expect(await s.next(15_000)).toMatchObject({ type: "result", id: "next" });
  return { type: f.type, ...(f.id !== undefined ? { id: f.id } : {}), ...(f.code ? { code: f.code } : {}) };
}

const peers = (id: string, bytes: number) => padded({ type: "list_peers", id }, bytes);
/** `depth` levels: the frame object and `depth − 1` arrays in an unknown field. */
const deepFrame = (id: string, depth: number) => `{"type":"list_peers","id":"${id}","x":${"[".repeat(depth - 1)}${"]".repeat(depth - 1)}}`;
/** A list_peers frame with `n` unknown keys: "k0":0,"k1":0 … */
const manyKeys = (id: string, n: number) => `{"type":"list_peers","id":"${id}",${Array.from({ length: n }, (_, i) => `"k${i.toString(36)}":0`).join(",")}}`;

describe("frame size at maxFrameBytes (64 KiB)", () => {
  test("limit − 1 and limit are answered; limit + 1 is frame_too_large before parsing; the connection stays", async () => {
    await using b = await startBroker();
    const { s } = await helloed(b);
    const L = MAX_FRAME_BYTES;
    expect(await answer(s, peers("below", L - 1))).toEqual({ type: "result", id: "below" });
    expect(await answer(s, peers("at", L))).toEqual({ type: "result", id: "at" });
    expect(await answer(s, peers("above", L + 1))).toEqual({ type: "error", code: "frame_too_large" });
    expect(await answer(s, "{" + "x".repeat(L))).toEqual({ type: "error", code: "frame_too_large" }); // not invalid_json
    // Measured in UTF-8 bytes: "é" is one UTF-16 unit and two bytes.
    const wide = (bytes: number) => padded({ type: "list_peers", id: "é".repeat(64) }, bytes);
    expect(wide(L + 1).length).toBeLessThan(L);
    expect(await answer(s, wide(L))).toEqual({ type: "result", id: "é".repeat(64) });
    expect(await answer(s, wide(L + 1))).toEqual({ type: "error", code: "frame_too_large" });
    // Up to four times the limit the WebSocket layer passes the frame; a byte more is closed 1009.
    expect(await answer(s, peers("4x", 4 * L))).toEqual({ type: "error", code: "frame_too_large" });
    s.send(peers("over 4x", 4 * L + 1));
    expect((await s.closed).code).toBe(1009);
    const again = await helloed(b);
    expect(await answer(again.s, peers("after", 100))).toEqual({ type: "result", id: "after" });
    again.s.ws.close();
  });

  test("as the first frame: a hello of exactly the limit is admitted; one byte more ends the handshake", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const at = await rawSocket(b.url);
    at.send(padded(hello(owner), MAX_FRAME_BYTES));
    expect((await at.next()).type).toBe("hello_ack");
    at.ws.close();
    const above = await rawSocket(b.url);
    above.send(padded(hello(owner), MAX_FRAME_BYTES + 1));
    expect(await above.next()).toMatchObject({ type: "error", code: "frame_too_large" });
    expect(await above.closed).toEqual({ code: 1008, reason: "frame_too_large" });
  });
});

describe("nesting depth", () => {
  test(`${MAX_JSON_DEPTH} levels pass the depth check; ${MAX_JSON_DEPTH + 1} and 10,000 are too_deep`, async () => {
    await using b = await startBroker();
    const { s } = await helloed(b);
    // At the limit the frame is parsed (its unknown field is a schema error that names its id).
    expect(await answer(s, deepFrame("d32", MAX_JSON_DEPTH))).toEqual({ type: "error", id: "d32", code: "invalid_frame" });
    expect(await answer(s, deepFrame("d33", MAX_JSON_DEPTH + 1))).toEqual({ type: "error", code: "too_deep" });
    expect(await answer(s, deepFrame("d10k", 10_000))).toEqual({ type: "error", code: "too_deep" });
    expect(await answer(s, `{"type":"list_peers","id":"o10k","x":${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}}`)).toEqual({ type: "error", code: "too_deep" });
    s.ws.close();
  });
});

describe("wide and long values", () => {
  test("with maxFrameBytes at its 1 MiB maximum: 200k keys are too large; 100k keys (about as many as fit) and a 1 MB string, are schema errors", async () => {
    await using b = await startBroker({ maxFrameBytes: 1024 * 1024 });
    const { s } = await helloed(b);
    expect(Buffer.byteLength(manyKeys("k200k", 200_000))).toBeGreaterThan(1024 * 1024);
    expect(await answer(s, manyKeys("k200k", 200_000))).toEqual({ type: "error", code: "frame_too_large" });
    expect(Buffer.byteLength(manyKeys("k100k", 100_000))).toBeLessThan(1024 * 1024);
    expect(await answer(s, manyKeys("k100k", 100_000))).toEqual({ type: "error", id: "k100k", code: "invalid_frame" });
    const long = JSON.stringify({ type: "set_summary", id: "long", summary: "a".repeat(1_000_000) });
    expect(await answer(s, long)).toEqual({ type: "error", id: "long", code: "invalid_frame" });
    s.ws.close();
  });

  test("at the default limit, 200k keys are over four times it: closed 1009, and the broker serves the next connection", async () => {
    await using b = await startBroker();
    const { s } = await helloed(b);
    s.send(manyKeys("k200k", 200_000));
    expect((await s.closed).code).toBe(1009);
    const again = await helloed(b);
    expect(await answer(again.s, peers("after", 100))).toEqual({ type: "result", id: "after" });
    expect((await fetch(`${b.url}/health`)).status).toBe(200);
    again.s.ws.close();
  });
});
