// The baseline: the least a WebSocket relay can do on Bun. No auth, no storage, no schema: the
// first frame `{"type":"hello","pubkey":K}` registers the socket under K (answered with
// `{"type":"hello_ack"}`), and every later frame `{"to":K,...}` is forwarded verbatim to the
// socket registered under K (dropped if there is none). Run as its own process, like the broker:
//   bun run bench/raw-relay.ts   → stderr: {"msg":"raw relay listening","url":"http://127.0.0.1:PORT"}
import type { ServerWebSocket } from "bun";

type Data = { key: string | null };

const sockets = new Map<string, ServerWebSocket<Data>>();

const server = Bun.serve<Data>({
  hostname: "127.0.0.1",
  port: 0,
  fetch(req, srv) {
    if (new URL(req.url).pathname === "/ws" && srv.upgrade(req, { data: { key: null } })) return undefined;
    return new Response("raw relay: connect to /ws", { status: 426 });
  },
  websocket: {
    idleTimeout: 0,
    sendPings: false,
    perMessageDeflate: false,
    message(ws, message) {
      const text = typeof message === "string" ? message : message.toString();
      const frame = JSON.parse(text) as { type?: string; pubkey?: string; to?: string };
      if (ws.data.key === null) {
        ws.data.key = String(frame.pubkey);
        sockets.set(ws.data.key, ws);
        ws.send('{"type":"hello_ack"}');
        return;
      }
      sockets.get(String(frame.to))?.send(text);
    },
    close(ws) {
      if (ws.data.key !== null && sockets.get(ws.data.key) === ws) sockets.delete(ws.data.key);
    },
  },
});

process.stderr.write(JSON.stringify({ msg: "raw relay listening", url: `http://127.0.0.1:${server.port}` }) + "\n");
process.once("SIGTERM", () => {
  server.stop(true);
  process.exit(0);
});
