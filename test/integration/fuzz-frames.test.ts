// Hostile frames over a real socket (reliability plan T12, socket half; the in-process half is
// test/unit/fuzz-decode.test.ts). After the handshake every refused frame gets exactly the error
// protocol.md §4.1 gives it, with its id when one can be recovered; a valid read-only frame gets an
// answer; the connection stays usable and the database is unchanged. As a first frame, each is a
// handshake failure with the code of §2.2. Text that is not UTF-8 is closed by the WebSocket layer.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { connect as tcpConnect } from "node:net";
import { startBroker, type TestBroker } from "../helpers/broker.ts";
import { addMember, createTestMesh, envelope } from "../helpers/mesh.ts";
import { rawSocket, type RawSocket } from "../helpers/raw.ts";
import { clientExamples, hostileFrame, verdict } from "../helpers/frame-fuzz.ts";
import { dbDigest } from "../helpers/db-digest.ts";
import { buildHello } from "../../src/client/credentials.ts";
import { recoverHelloVersion } from "../../src/protocol/codec.ts";
import { isErrorCode } from "../../src/protocol/errors.ts";
import { versionRefusal } from "../../src/broker/auth.ts";

/** Requests that read and change nothing: a fuzzed frame of these types that is still valid is
 *  sent too, and must get an answer (a result or an error) like any request. */
const READ_ONLY = new Set(["ack", "audit_log", "audit_verify", "fetch", "grant_list", "invite_list", "list_peers", "member_list", "topic_history", "topic_list", "topic_members"]);

/** The value as it comes back through JSON (an id of -0 is echoed as 0). */
const asJson = (v: unknown) => JSON.parse(JSON.stringify(v));

async function meshWithTraffic(b: TestBroker) {
  const { owner } = await createTestMesh(b.url);
  const bob = await addMember(b.url, owner, "bob");
  const s = await rawSocket(b.url);
  s.send(buildHello({ kind: "member", meshId: owner.meshId, memberId: owner.memberId, keys: owner.keys }, { sessionId: "fuzz", pid: 1, cwd: "/" }));
  expect((await s.next()).type).toBe("hello_ack");
  // Something queued and something in a topic, so that reads have rows to page through.
  s.send({ type: "send", id: "q", to: bob.keys.publicKey, clientMessageId: "fuzz-seed-0001", ...envelope("hi") });
  expect((await s.next()).type).toBe("result");
  s.send({ type: "send", id: "t", to: "#general", clientMessageId: "fuzz-seed-0002", ...envelope("hi all") });
  expect((await s.next()).type).toBe("result");
  return { owner, bob, s };
}

/** Sends `text` and then a marker request, and returns the answers (pushes left out) that came
 *  before the marker's, or after it until `expected` have come (an `ack` is answered after its
 *  commit, so later than the marker). The marker keeps runs apart: a missing answer fails the run
 *  that caused it, and an extra one fails the next. */
let markers = 0;
async function answersTo(s: RawSocket, text: string | Uint8Array<ArrayBuffer>, expected = 1): Promise<any[]> {
  const marker = `marker-${++markers}`;
  s.ws.send(text);
  s.send({ type: "list_peers", id: marker });
  const answers: any[] = [];
  for (let markerSeen = false; !markerSeen || answers.length < expected; ) {
    const f = await s.next();
    if (f.id === marker && f.type === "result") markerSeen = true;
    else if (f.type === "result" || f.type === "error") answers.push(f);
  }
  return answers;
}

describe("fuzzed frames over a socket", () => {
  test("after the handshake: each refused frame gets its own error and id, reads get answers, nothing changes", async () => {
    await using b = await startBroker({ requestRate: 1_000_000, requestBurst: 1_000_000 }); // fuzzing, not pacing (frame-allowance.test.ts)
    const { s } = await meshWithTraffic(b);
    const before = dbDigest(b);
    const max = b.ctx.config.maxFrameBytes;
    let refused = 0;
    let answered = 0;
    await fc.assert(
      fc.asyncProperty(hostileFrame(clientExamples()), async (text) => {
        const v = verdict(text, max);
        if (v.valid) {
          const frame = JSON.parse(text) as { type: string; id?: unknown };
          if (!READ_ONLY.has(frame.type)) return;
          // An ack without an id is not a request: it gets no answer (§4.3.4).
          const ids = frame.id === undefined ? [] : [asJson(frame.id)];
          expect((await answersTo(s, text, ids.length)).map((a) => a.id)).toEqual(ids);
          answered++;
          return;
        }
        const answers = await answersTo(s, text);
        expect(answers).toEqual([{ type: "error", ...(v.id === undefined ? {} : { id: asJson(v.id) }), code: v.code, message: expect.any(String), retryable: expect.any(Boolean) }]);
        refused++;
      }),
      { numRuns: 5_000, endOnFailure: true, seed: Number(process.env.FUZZ_SEED) || undefined },
    );
    expect(refused).toBeGreaterThan(2_500);
    expect(answered).toBeGreaterThan(20);
    expect(await answersTo(s, new Uint8Array([0x7b, 0x7d]))).toEqual([{ type: "error", code: "invalid_frame", message: expect.any(String), retryable: false }]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(dbDigest(b)).toBe(before);
    s.ws.close();
  }, 120_000);

  test("as a first frame: each hostile text ends the handshake with the code of §2.2 and close 1008", async () => {
    await using b = await startBroker();
    await meshWithTraffic(b);
    const before = dbDigest(b);
    const max = b.ctx.config.maxFrameBytes;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(hostileFrame(clientExamples()), async (text) => {
        const v = verdict(text, max);
        const isHello = v.valid && /^(session_)?hello$/.test(String((JSON.parse(text) as { type: unknown }).type));
        // A valid hello goes on to the checks of §2.3/§2.4 (the examples' mesh does not exist
        // here), and is refused by one of them; anything else valid is no_hello.
        const code = v.valid ? (isHello ? undefined : "no_hello") : v.code === "invalid_frame" ? (versionRefusal(recoverHelloVersion(text, max))?.code ?? "malformed") : v.code;
        const s = await rawSocket(b.url);
        s.send(text);
        const error = await s.next();
        expect(error.type).toBe("error");
        expect(code === undefined ? isErrorCode(error.code) : error.code === code).toBe(true);
        expect(await s.closed).toEqual({ code: 1008, reason: error.code });
        refused++;
      }),
      { numRuns: 1_000, endOnFailure: true, seed: Number(process.env.FUZZ_SEED) || undefined },
    );
    expect(refused).toBeGreaterThan(500);
    expect(dbDigest(b)).toBe(before);
  }, 120_000);

  test("a text frame that is not UTF-8 is closed 1007 by the WebSocket layer, before and after the hello; the broker stays up", async () => {
    await using b = await startBroker();
    const { owner, s } = await meshWithTraffic(b);
    expect(await invalidUtf8Close(b.url)).toEqual({ code: 1007, texts: [] });
    const hello = JSON.stringify(buildHello({ kind: "member", meshId: owner.meshId, memberId: owner.memberId, keys: owner.keys }, { sessionId: "utf8", pid: 1, cwd: "/" }));
    const after = await invalidUtf8Close(b.url, hello);
    expect({ code: after.code, first: JSON.parse(after.texts[0]!).type }).toEqual({ code: 1007, first: "hello_ack" });
    // The same bytes as a binary frame on an open connection: refused, and the connection kept.
    expect(await answersTo(s, new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))).toMatchObject([{ type: "error", code: "invalid_frame" }]);
    s.ws.close();
  });
});

/** A masked client text frame (payloads under 64 KiB). */
function textFrame(payload: Buffer): Buffer {
  const mask = Buffer.from([1, 2, 3, 4]);
  const head = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length]) : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([head, mask, payload.map((x, i) => x ^ mask[i % 4]!)]);
}

/** Opens a WebSocket by hand (a WebSocket object cannot send bad UTF-8 as text), sends `first`
 *  (a hello) if given, then the text frame `{\xff\xfe}`, and returns the close code the server
 *  answers with and the text frames it sent before. */
function invalidUtf8Close(baseUrl: string, first?: string): Promise<{ code: number; texts: string[] }> {
  const { hostname, port } = new URL(baseUrl);
  const bad = textFrame(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
  return new Promise((resolve, reject) => {
    const sock = tcpConnect(Number(port), hostname);
    const texts: string[] = [];
    let upgraded = false;
    sock.on("connect", () =>
      sock.write(`GET /ws HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`),
    );
    sock.on("data", (d: Buffer) => {
      if (!upgraded) {
        if (!d.toString("latin1").startsWith("HTTP/1.1 101")) return reject(new Error(`no upgrade: ${d.toString("latin1").split("\r\n")[0]}`));
        upgraded = true;
        sock.write(first === undefined ? bad : textFrame(Buffer.from(first)));
        return;
      }
      // Server frames are unmasked; the hello_ack is one small text frame (16-bit length at most).
      if (d[0] === 0x81) {
        const [len, at] = d[1]! === 126 ? [d.readUInt16BE(2), 4] : [d[1]!, 2];
        texts.push(d.subarray(at, at + len).toString());
        sock.write(bad);
      } else if (d[0] === 0x88) {
        resolve({ code: d.readUInt16BE(2), texts });
        sock.destroy();
      }
    });
    sock.on("error", reject);
  });
}
