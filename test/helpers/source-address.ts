// A TCP pass-through whose connections reach the broker from a chosen local address. All of
// 127.0.0.0/8 is loopback on Linux, so 127.0.0.2, 127.0.0.3 … make one test process look like
// clients on several machines to every per-address rule of the broker (and of a proxy in front).
import { connect, createServer, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";

/** Listens on 127.0.0.1 and forwards each connection to `port` from `localAddress`. `url` is the
 *  broker's base URL as seen through it. Disposing it ends every connection it carries. */
export async function fromAddress(port: number, localAddress: string) {
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect({ host: "127.0.0.1", port, localAddress });
    for (const s of [client, upstream]) {
      open.add(s);
      s.on("close", () => open.delete(s));
      s.on("error", () => (client.destroy(), upstream.destroy()));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    [Symbol.dispose]() {
      for (const s of open) s.destroy();
      server.close();
    },
  };
}

export type HeldUpgrade = { status: number; [Symbol.dispose](): void };

/** A WebSocket upgrade request to `/ws` at 127.0.0.1:`port` from `localAddress`, over TLS when
 *  `tls` is given (the CA to trust; the name sent is `localhost`), with `headers` added (a forged
 *  X-Forwarded-For). Resolves with the answer's status once its status line arrives; the socket
 *  stays open (a connection the broker counts) until disposed. */
export async function upgradeFrom(port: number, localAddress: string, opts: { tls?: { ca: string }; headers?: Record<string, string> } = {}): Promise<HeldUpgrade> {
  const socket: Socket = opts.tls
    ? tlsConnect({ host: "127.0.0.1", port, localAddress, servername: "localhost", ca: opts.tls.ca })
    : connect({ host: "127.0.0.1", port, localAddress });
  const extra = Object.entries(opts.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join("");
  const request = `GET /ws HTTP/1.1\r\nHost: localhost:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;
  const status = await new Promise<number>((resolve, reject) => {
    let head = "";
    socket.once(opts.tls ? "secureConnect" : "connect", () => socket.write(request));
    socket.on("data", (d: Buffer) => {
      head += d.toString("latin1");
      const m = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (m) resolve(Number(m[1]));
    });
    socket.once("error", reject);
    socket.once("close", () => reject(new Error(`the connection from ${localAddress} to ${port} closed before an answer: ${JSON.stringify(head)}`)));
  });
  return { status, [Symbol.dispose]: () => void socket.destroy() };
}
