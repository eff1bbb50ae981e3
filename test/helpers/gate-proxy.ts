// A TCP pass-through that holds what a client writes after its first `passChunks` chunks (each a
// separate write: the upgrade request, the hello, then one request at a time), so a test can
// stop a broker while a command waits at a chosen step. What the broker writes always passes.
import type { Socket } from "bun";

type Link = { up: Socket<unknown> | null; early: Uint8Array[]; chunks: number };

/** Holds client bytes past `passChunks` per connection; `held()` counts them. A connection opened
 *  when the broker is gone is closed, as a refused one would be. */
export function gateProxy(port: number, passChunks: number) {
  let held = 0;
  const server = Bun.listen<Link>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      async open(client) {
        client.data = { up: null, early: [], chunks: 0 };
        try {
          client.data.up = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data: (_s, d) => void client.write(d), close: () => void client.end(), error: () => {} } });
        } catch {
          return void client.end();
        }
        for (const d of client.data.early.splice(0)) client.data.up.write(d);
      },
      data(client, d) {
        if (client.data.chunks++ >= passChunks) return void held++;
        if (client.data.up) client.data.up.write(d);
        else client.data.early.push(new Uint8Array(d));
      },
      close: (client) => void client.data.up?.end(),
      error: () => {},
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, held: () => held, [Symbol.dispose]: () => server.stop(true) };
}
