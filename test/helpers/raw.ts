// A raw WebSocket probe for protocol tests: send exact text, read frames in order, observe the close;
// and a WebSocket spoken by hand over TCP, for what a WebSocket object will not do.
import { createHash, randomBytes } from "node:crypto";
import { connect as tcpConnect, type Socket } from "node:net";

export type RawSocket = {
  ws: WebSocket;
  send(frame: unknown): void;
  next(timeoutMs?: number): Promise<any>;
  closed: Promise<{ code: number; reason: string }>;
};

export function rawSocket(baseUrl: string): Promise<RawSocket> {
  const ws = new WebSocket(baseUrl.replace(/^http/, "ws") + "/ws");
  const frames: any[] = [];
  const waiting: ((f: any) => void)[] = [];
  ws.onmessage = (ev) => {
    const f = JSON.parse(String(ev.data));
    const w = waiting.shift();
    if (w) w(f);
    else frames.push(f);
  };
  const closed = new Promise<{ code: number; reason: string }>((r) => (ws.onclose = (ev) => r({ code: ev.code, reason: ev.reason })));
  return new Promise((resolve, reject) => {
    ws.onopen = () =>
      resolve({
        ws,
        send: (f) => ws.send(typeof f === "string" ? f : JSON.stringify(f)),
        next: (timeoutMs = 5000) =>
          frames.length > 0
            ? Promise.resolve(frames.shift())
            : new Promise((res, rej) => {
                const t = setTimeout(() => rej(new Error("no frame within timeout")), timeoutMs);
                waiting.push((f) => {
                  clearTimeout(t);
                  res(f);
                });
              }),
        closed,
      });
    ws.onerror = () => reject(new Error("websocket error"));
  });
}

/** The HTTP request that upgrades to the WebSocket at /ws (what tcpWebSocket writes; a test may
 *  trickle it in instead). */
export const upgradeRequest = (port: number, key = "dGhlIHNhbXBsZSBub25jZQ==", headers: Record<string, string> = {}) =>
  `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n`;

export const Op = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

/** One client frame (masked, as RFC 6455 §5.3 requires of clients): any opcode, final or not. */
export function wsFrame(opcode: number, payload: Uint8Array | string = new Uint8Array(0), fin = true): Buffer {
  const data = Buffer.from(payload);
  const n = data.length;
  const head = n < 126 ? Buffer.from([0, n]) : n < 65536 ? Buffer.from([0, 126, n >> 8, n & 0xff]) : Buffer.alloc(10, 127);
  if (n >= 65536) head.writeBigUInt64BE(BigInt(n), 2);
  head[0] = (fin ? 0x80 : 0) | opcode;
  head[1]! |= 0x80; // masked
  const mask = randomBytes(4);
  return Buffer.concat([head, mask, data.map((x, i) => x ^ mask[i % 4]!)]);
}

export type TcpWebSocket = {
  sock: Socket;
  /** Text frames received, in order. */
  frames: string[];
  /** The close frame's code (1006 when TCP closed without one); null while open. */
  closed(): number | null;
  /** Resolves once the TCP connection is closed. */
  ended: Promise<void>;
  sendText(text: string): void;
  /** Resolves once `pred()` holds, re-checked on every frame and on the close. */
  until(pred: () => boolean, timeoutMs: number, what: string): Promise<void>;
};

/** A WebSocket client over a raw TCP socket, for what a WebSocket object cannot do: stop reading,
 *  write part of a frame, fragments and pings of its choosing, or drop the link mid-frame.
 *  Rejects if the upgrade is refused (its status line in the message). `headers`: more headers of
 *  the upgrade request (an X-Forwarded-For, as a proxy would add). */
export async function tcpWebSocket(port: number, localAddress?: string, headers: Record<string, string> = {}): Promise<TcpWebSocket> {
  // Another loopback address (127.0.0.2…) is another client address to the broker's per-address limits.
  const sock = tcpConnect({ port, host: "127.0.0.1", localAddress });
  await new Promise<void>((r, j) => sock.once("connect", r).once("error", j));
  const key = randomBytes(16).toString("base64");
  sock.write(upgradeRequest(port, key, headers));
  let buf = Buffer.alloc(0);
  const frames: string[] = [];
  let closed: number | null = null;
  let upgraded = false;
  const listeners = new Set<() => void>();
  const ended = new Promise<void>((r) => sock.once("close", () => r()));
  const upgrade = new Promise<void>((resolve, reject) => {
    sock.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!upgraded) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = buf.subarray(0, end).toString();
        const accept = createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
        if (!head.startsWith("HTTP/1.1 101") || !head.includes(accept)) return reject(new Error(`upgrade refused: ${head.split("\r\n")[0]}`));
        upgraded = true;
        buf = buf.subarray(end + 4);
        resolve();
      }
      readFrames();
      listeners.forEach((l) => l());
    });
    sock.on("close", () => {
      closed ??= 1006;
      reject(new Error("closed before the upgrade"));
      listeners.forEach((l) => l());
    });
    sock.on("error", () => {});
  });
  const readFrames = () => {
    for (;;) {
      if (buf.length < 2) return;
      let len = buf[1]! & 0x7f;
      let at = 2;
      if (len === 126) [len, at] = buf.length >= 4 ? [buf.readUInt16BE(2), 4] : [-1, 0];
      else if (len === 127) [len, at] = buf.length >= 10 ? [Number(buf.readBigUInt64BE(2)), 10] : [-1, 0];
      if (len < 0 || buf.length < at + len) return;
      const op = buf[0]! & 0x0f;
      const payload = buf.subarray(at, at + len);
      buf = buf.subarray(at + len);
      if (op === Op.text) frames.push(payload.toString());
      if (op === Op.close) closed = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
    }
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
  await upgrade;
  return { sock, frames, closed: () => closed, ended, sendText: (text) => void sock.write(wsFrame(Op.text, text)), until };
}
