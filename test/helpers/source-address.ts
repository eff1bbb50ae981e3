// A TCP pass-through whose connections reach the broker from a chosen local address. All of
// 127.0.0.0/8 is loopback on Linux, so 127.0.0.2, 127.0.0.3 … make one test process look like
// clients on several machines to every per-address rule of the broker.
import { connect, createServer, type Socket } from "node:net";

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
