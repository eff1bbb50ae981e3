// A TCP pass-through between a client and a real broker that can fail the way real links do:
// black-holed (a NAT timeout, a laptop sleep, a Wi-Fi change: nothing is closed, bytes vanish) or
// cut (a proxy's idle timeout, a network blip), while the broker behind it keeps running.
import type { Socket } from "bun";
import { connect as netConnect, createServer, type Socket as NetSocket } from "node:net";

/** A TCP pass-through to `port`. `freeze` drops every byte both ways (nothing is closed),
 *  `freezeDown` only the broker's, `thaw` lets them pass again, `cut` ends every connection,
 *  `refuse(true)` ends each new one at once (a broker that is down) until `refuse(false)`,
 *  `forget` black-holes the connections open now for good (a NAT that forgot their flows) while
 *  new ones pass. `onDown` sees each chunk of the broker's before the client does (a WebSocket
 *  server's frames are not masked: a test can act on what the broker has just answered), and
 *  drops it by returning false. */
export function linkProxy(port: number, onDown: (d: Uint8Array) => boolean | void = () => {}) {
  type Pair = { client: Socket<unknown>; upstream: Socket<unknown> | null; early: Uint8Array[]; lost: boolean };
  const pairs = new Set<Pair>();
  let up = true;
  let down = true;
  let refusing = false;
  const server = Bun.listen<{ pair: Pair }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      async open(client) {
        if (refusing) return void client.end();
        const pair: Pair = { client: client as Socket<unknown>, upstream: null, early: [], lost: false };
        client.data = { pair };
        pairs.add(pair);
        const upstream = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data: (_s, d) => void (down && !pair.lost && onDown(d) !== false && client.write(d)), close: () => void (down && !pair.lost && client.end()), error: () => {} } }).catch(() => null);
        // A broker that is gone refuses the connection: the client's connection ends as well.
        if (!upstream) return void client.end();
        pair.upstream = upstream;
        for (const d of pair.early) pair.upstream.write(d);
      },
      data(client, d) {
        const { pair } = client.data;
        if (!up || pair.lost) return;
        if (pair.upstream) pair.upstream.write(d);
        else pair.early.push(new Uint8Array(d));
      },
      close(client) {
        if (!client.data) return; // refused
        if (up && !client.data.pair.lost) client.data.pair.upstream?.end();
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
    refuse: (on: boolean) => void (refusing = on),
    cut: () => [...pairs].forEach((p) => (p.client.end(), p.upstream?.end())),
    forget: () => pairs.forEach((p) => (p.lost = true)),
    [Symbol.dispose]: () => server.stop(true),
  };
}

/** How churnProxy cuts a link: after passing on half of the client's next chunk (a frame cut in
 *  two), after passing on all of it but before any answer comes back (between a send or an ack
 *  and its result), or half-way through the hello of a connection opened within HELLO_CUT_MS. */
export type Cut = "mid-frame" | "after-chunk" | "mid-hello";

/** How long a "mid-hello" cut stays armed for the connections opened meanwhile. */
const HELLO_CUT_MS = 150;

/** A TCP pass-through to `port` that destroys links on demand, in the middle of what the client
 *  writes (node:net, whose writes buffer, so nothing is lost until the cut). */
export async function churnProxy(port: number) {
  type Pair = { client: NetSocket; upstream: NetSocket; chunks: number; cut: Cut | null; dead: boolean };
  const pairs = new Set<Pair>();
  let helloCutsUntil = 0;
  /** Cuts made, by kind. */
  const made: Record<Cut, number> = { "mid-frame": 0, "after-chunk": 0, "mid-hello": 0 };
  const kill = (p: Pair) => {
    p.dead = true;
    pairs.delete(p);
    p.client.destroy();
    p.upstream.destroy();
  };
  const server = createServer((client) => {
    const upstream = netConnect(port, "127.0.0.1");
    const pair: Pair = { client, upstream, chunks: 0, cut: performance.now() < helloCutsUntil ? "mid-hello" : null, dead: false };
    pairs.add(pair);
    client.on("data", (d: Buffer) => {
      if (pair.dead) return;
      // The first chunk is the upgrade request, the second the hello.
      const cut = ++pair.chunks > 1 ? pair.cut : null;
      if (!cut) return void upstream.write(d);
      pair.dead = true; // no answer goes back from here on
      made[cut]++;
      upstream.write(cut === "after-chunk" ? d : d.subarray(0, Math.ceil(d.length / 2)), () => kill(pair));
    });
    upstream.on("data", (d: Buffer) => void (pair.dead || client.write(d)));
    for (const s of [client, upstream]) {
      s.on("close", () => kill(pair));
      s.on("error", () => {});
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    made,
    /** Arms a cut: of the hellos of the connections opened in the next HELLO_CUT_MS, or of the
     *  next chunk of link `pick` of the open ones past their hello (false when there is none). */
    cut(how: Cut, pick: (n: number) => number): boolean {
      // For a while, not for the next connection whatever its time: a client reconnecting only
      // after a cut hello would otherwise have every attempt cut, its backoff growing to 30 s.
      if (how === "mid-hello") {
        helloCutsUntil = performance.now() + HELLO_CUT_MS;
        return true;
      }
      const open = [...pairs].filter((p) => !p.cut && p.chunks > 1);
      if (open.length > 0) open[pick(open.length)]!.cut = how;
      return open.length > 0;
    },
    /** Cuts nothing more: links armed and not cut yet are disarmed, and hellos are left alone. */
    calm(): void {
      helloCutsUntil = 0;
      for (const p of pairs) p.cut = null;
    },
    [Symbol.dispose]: () => {
      server.close();
      [...pairs].forEach(kill);
    },
  };
}
