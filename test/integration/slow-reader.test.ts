// A client that stops reading must be paced, not disconnected and not silently short-changed:
// while its socket is congested the broker keeps its messages queued, and once it reads again it
// gets every one, in order. The reader here is a raw TCP WebSocket client so that it can really
// stop reading (a WebSocket object always drains its socket).
import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { buildHello } from "../../src/client/credentials.ts";
import { randomId } from "../../src/crypto/hash.ts";
import { startBroker } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh, type TestMember } from "../helpers/mesh.ts";
import { tcpWebSocket } from "../helpers/raw.ts";

describe("a client that stops reading", () => {
  test("is paced while congested and then receives every message, in order, without being closed", async () => {
    await using b = await startBroker({ queueQuota: 100_000 });
    const { owner } = await createTestMesh(b.url);
    const reader: TestMember = await addMember(b.url, owner, "reader");
    const sender = await connect(b.url, owner);
    const ws = await tcpWebSocket(b.port);
    const where = { sessionId: randomId(), pid: process.pid, cwd: "/tmp/slow", hostname: "slow" };
    ws.sendText(JSON.stringify(buildHello({ kind: "member", meshId: reader.meshId, memberId: reader.memberId, keys: reader.keys }, where)));
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
    await Bun.sleep(300); // proves the congestion does not get the reader closed while it does not read
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
          ws.sendText(JSON.stringify({ type: "ack", messageIds: [f.messageId] }));
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
