// A TCP pass-through between a client and a real broker that can fail the way real links do:
// black-holed (a NAT timeout, a laptop sleep, a Wi-Fi change: nothing is closed, bytes vanish) or
// cut (a proxy's idle timeout, a network blip), while the broker behind it keeps running.
import type { Socket } from "bun";

/** A TCP pass-through to `port`. `freeze` drops every byte both ways (nothing is closed),
 *  `freezeDown` only the broker's, `thaw` lets them pass again, `cut` ends every connection. */
export function linkProxy(port: number) {
  type Pair = { client: Socket<unknown>; upstream: Socket<unknown> | null; early: Uint8Array[] };
  const pairs = new Set<Pair>();
  let up = true;
  let down = true;
  const server = Bun.listen<{ pair: Pair }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      async open(client) {
        const pair: Pair = { client: client as Socket<unknown>, upstream: null, early: [] };
        client.data = { pair };
        pairs.add(pair);
        pair.upstream = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data: (_s, d) => void (down && client.write(d)), close: () => void (down && client.end()), error: () => {} } });
        for (const d of pair.early) pair.upstream.write(d);
      },
      data(client, d) {
        const { pair } = client.data;
        if (!up) return;
        if (pair.upstream) pair.upstream.write(d);
        else pair.early.push(new Uint8Array(d));
      },
      close(client) {
        if (up) client.data.pair.upstream?.end();
        pairs.delete(client.data.pair);
      },
      error: () => {},
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    freeze: () => void (up = down = false),
    freezeDown: () => void (down = false),
    thaw: () => void (up = down = true),
    cut: () => [...pairs].forEach((p) => (p.client.end(), p.upstream?.end())),
    [Symbol.dispose]: () => server.stop(true),
  };
}
