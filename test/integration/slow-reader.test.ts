// A client that stops reading must be paced, not disconnected and not silently short-changed:
// while its socket is congested the broker keeps its messages queued, and once it reads again it
// gets every one, in order. The reader here is a raw TCP WebSocket client so that it can really
// stop reading (a WebSocket object always drains its socket).
import { describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { connect as tcpConnect, type Socket } from "node:net";
import { buildHello } from "../../src/client/credentials.ts";
import { randomId } from "../../src/crypto/hash.ts";
import { startBroker } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh, type TestMember } from "../helpers/mesh.ts";

/** A minimal RFC 6455 client over a raw socket: masked text frames out, text frames in. */
async function rawWsClient(port: number) {
  const sock: Socket = tcpConnect(port, "127.0.0.1");
  await new Promise<void>((r, j) => sock.once("connect", r).once("error", j));
  const key = randomBytes(16).toString("base64");
  sock.write(`GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  let buf = Buffer.alloc(0);
  const frames: string[] = [];
  let closed: number | null = null;
  let upgraded = false;
  const listeners = new Set<() => void>();
  sock.on("data", (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    if (!upgraded) {
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = buf.subarray(0, end).toString();
      const accept = createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
      if (!head.startsWith("HTTP/1.1 101") || !head.includes(accept)) throw new Error(`upgrade failed: ${head}`);
      upgraded = true;
      buf = buf.subarray(end + 4);
    }
    for (;;) {
      if (buf.length < 2) break;
      const op = buf[0]! & 0x0f;
      let len = buf[1]! & 0x7f;
      let at = 2;
      if (len === 126) [len, at] = buf.length >= 4 ? [buf.readUInt16BE(2), 4] : [-1, 0];
      else if (len === 127) [len, at] = buf.length >= 10 ? [Number(buf.readBigUInt64BE(2)), 10] : [-1, 0];
      if (len < 0 || buf.length < at + len) break;
      const payload = buf.subarray(at, at + len);
      buf = buf.subarray(at + len);
      if (op === 1) frames.push(payload.toString());
      if (op === 8) closed = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
    }
    listeners.forEach((l) => l());
  });
  sock.on("close", () => {
    closed ??= 1006;
    listeners.forEach((l) => l());
  });
  const send = (text: string) => {
    const payload = Buffer.from(text);
    const mask = randomBytes(4);
    const len = payload.length;
    const head = len < 126 ? Buffer.from([0x81, 0x80 | len]) : len < 65536 ? Buffer.from([0x81, 0x80 | 126, len >> 8, len & 0xff]) : (() => {
      const h = Buffer.alloc(10);
      h[0] = 0x81;
      h[1] = 0x80 | 127;
      h.writeBigUInt64BE(BigInt(len), 2);
      return h;
    })();
    for (let i = 0; i < len; i++) payload[i]! ^= mask[i % 4]!;
    sock.write(Buffer.concat([head, mask, payload]));
  };
  const until = (pred: () => boolean, timeoutMs: number, what: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!pred()) return;
        listeners.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      listeners.add(check);
      check();
    });
  return { sock, frames, send, until, closed: () => closed };
}

describe("a client that stops reading", () => {
  test("is paced while congested and then receives every message, in order, without being closed", async () => {
    await using b = await startBroker({ queueQuota: 100_000 });
    const { owner } = await createTestMesh(b.url);
    const reader: TestMember = await addMember(b.url, owner, "reader");
    const sender = await connect(b.url, owner);
    const ws = await rawWsClient(b.port);
    const where = { sessionId: randomId(), pid: process.pid, cwd: "/tmp/slow", hostname: "slow" };
    ws.send(JSON.stringify(buildHello({ kind: "member", meshId: reader.meshId, memberId: reader.memberId, keys: reader.keys }, where)));
    await ws.until(() => ws.frames.some((f) => f.startsWith('{"type":"hello_ack"')), 5000, "hello_ack");
    ws.sock.pause(); // from here on the reader takes nothing from its socket

    // ~36 MB of pushes: more than the kernel's socket buffers and Bun's 16 MiB backpressure limit together.
    const COUNT = 600;
    const body = randomBytes(45_000).toString("base64");
    const nonce = randomBytes(24).toString("base64");
    const sent: string[] = [];
    for (let i = 0; i < COUNT; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, k) => {
          const clientMessageId = `slow-msg-${String(i + k).padStart(4, "0")}`;
          sent.push(clientMessageId);
          return sender.client.request("send", { to: reader.keys.publicKey, clientMessageId, nonce, ciphertext: body });
        }),
      );
    }
    await Bun.sleep(300);
    expect(ws.closed()).toBeNull();

    // Read again, acking as we go: everything arrives, once each, in send order.
    const got: string[] = [];
    let acked = 0;
    ws.sock.resume();
    await ws.until(
      () => {
        for (; acked < ws.frames.length; acked++) {
          const f = JSON.parse(ws.frames[acked]!) as { type: string; messageId?: string; clientMessageId?: string };
          if (f.type !== "message") continue;
          got.push(f.clientMessageId!);
          ws.send(JSON.stringify({ type: "ack", messageIds: [f.messageId] }));
        }
        return got.length >= COUNT || ws.closed() !== null;
      },
      30_000,
      `${COUNT} messages`,
    );
    expect(ws.closed()).toBeNull();
    expect(got).toEqual(sent);
    sender.close();
    ws.sock.destroy();
  }, 60_000);
});
