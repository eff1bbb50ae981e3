// A reverse proxy that serves a broker under a path, as an operator's nginx or Caddy would
// (`location /cm/ { proxy_pass http://127.0.0.1:7900/; }`): `/cm/x` is forwarded as `/x` with the
// broker's own Host, `/cm` is redirected to `/cm/` (nginx does that for such a location; with
// `{ bareToRoot: true }` it is forwarded as `/`, as Caddy's `handle_path /cm*` does), response
// bodies stream through (the dashboard's live view is Server-Sent Events), WebSocket upgrades are
// forwarded (the broker's /ws), and anything outside the prefix is a 404 that the test can see in
// `misses`. With `{ passPath: true }` the path goes through as it came, `/cm` included, as nginx's
// `location /cm { proxy_pass http://127.0.0.1:7900; }` (no URI on proxy_pass) or Traefik without
// StripPrefix do. With `{ normalize: true }` the path is first normalized as nginx does before it
// matches a location and builds the upstream URI: percent-decoded (`%2F` included), slashes merged,
// `.` and `..` resolved. Like nginx's `$proxy_add_x_forwarded_for`, each request's X-Forwarded-For
// gets the proxy's peer address appended.
import type { Server } from "bun";

export type PrefixProxy = {
  /** The proxy's origin, `http://127.0.0.1:<port>`. */
  origin: string;
  /** The broker's URL as the outside reaches it: origin + prefix (no trailing slash). */
  base: string;
  /** Paths asked for outside the prefix: each one a URL the page built wrong. */
  misses: string[];
  /** Where to forward to (the broker's URL), set once the broker runs: it needs `base` first. */
  forwardTo(url: string): void;
  [Symbol.asyncDispose](): Promise<void>;
};

/** Response headers that describe the broker's bytes, not the ones fetch hands over (decoded). */
const HOP_HEADERS = ["content-encoding", "content-length", "transfer-encoding", "connection"];
/** Request headers of the upgrade that the proxy's own WebSocket client makes anew. */
const WS_HANDSHAKE = ["host", "connection", "upgrade", "sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions"];

/** `raw` (a URL path) as nginx normalizes it: decoded, slashes merged, dot segments resolved. */
function normalized(raw: string): string {
  const decoded = decodeURIComponent(raw);
  const out: string[] = [];
  for (const seg of decoded.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  return `/${out.join("/")}${out.length > 0 && /\/\.{0,2}$/.test(decoded) ? "/" : ""}`;
}

/** A client socket's upstream, and what the broker sent before the client's socket was open. */
type Pipe = { upstream: WebSocket; early: (string | Buffer)[] };

export function prefixProxy(prefix = "/cm", opts: { bareToRoot?: boolean; passPath?: boolean; normalize?: boolean } = {}): PrefixProxy {
  let target: string | null = null;
  const misses: string[] = [];
  const server = Bun.serve<Pipe>({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0, // the live view's stream may be quiet for longer than the default 10 s
    async fetch(req, srv): Promise<Response | undefined> {
      const url = new URL(req.url);
      if (opts.normalize) url.pathname = normalized(url.pathname);
      if (url.pathname === prefix && !opts.bareToRoot && !opts.passPath) return new Response(null, { status: 301, headers: { location: `${prefix}/${url.search}` } });
      if (!(url.pathname.startsWith(`${prefix}/`) || url.pathname === prefix) || target === null) {
        misses.push(url.pathname);
        return new Response("not behind this proxy", { status: 404 });
      }
      const headers = new Headers(req.headers);
      const peer = srv.requestIP(req)?.address ?? "unknown";
      const forwarded = headers.get("x-forwarded-for");
      headers.set("x-forwarded-for", forwarded ? `${forwarded}, ${peer}` : peer);
      const path = `${opts.passPath ? url.pathname : url.pathname.slice(prefix.length) || "/"}${url.search}`;
      if (req.headers.get("upgrade")?.toLowerCase() === "websocket") return upgrade(req, srv, `${target.replace(/^http/, "ws")}${path}`, headers);
      headers.delete("host");
      const hasBody = req.method !== "GET" && req.method !== "HEAD";
      const upstream = await fetch(`${target}${path}`, { method: req.method, headers, body: hasBody ? await req.arrayBuffer() : undefined, redirect: "manual", signal: req.signal });
      const out = new Headers(upstream.headers);
      for (const h of HOP_HEADERS) out.delete(h);
      return new Response(upstream.body, { status: upstream.status, headers: out });
    },
    websocket: {
      open(ws) {
        const { upstream, early } = ws.data;
        for (const m of early.splice(0)) ws.send(m);
        upstream.onmessage = (e) => ws.send(typeof e.data === "string" ? e.data : Buffer.from(e.data as ArrayBuffer));
        upstream.onclose = (e) => ws.close(e.code === 1005 ? 1000 : e.code, e.reason);
      },
      message: (ws, m) => ws.data.upstream.send(m),
      close: (ws, code, reason) => ws.data.upstream.close(code === 1005 || code === 1006 ? 1000 : code, reason),
    },
  });

  /** Opens the broker's socket first, so that a refused upgrade reaches the client as a refusal
   *  (502), as a proxy's would, rather than as an open socket that closes at once. */
  async function upgrade(req: Request, srv: Server<Pipe>, to: string, headers: Headers): Promise<Response | undefined> {
    for (const h of WS_HANDSHAKE) headers.delete(h);
    const upstream = new WebSocket(to, { headers: Object.fromEntries(headers) } as never);
    upstream.binaryType = "arraybuffer";
    const early: (string | Buffer)[] = [];
    upstream.onmessage = (e) => early.push(typeof e.data === "string" ? e.data : Buffer.from(e.data as ArrayBuffer));
    const opened = await new Promise<boolean>((resolve) => {
      upstream.onopen = () => resolve(true);
      upstream.onerror = () => resolve(false);
      upstream.onclose = () => resolve(false);
    });
    if (!opened) return new Response("the broker refused the upgrade", { status: 502 });
    if (srv.upgrade(req, { data: { upstream, early } })) return undefined;
    upstream.close();
    return new Response("expected a WebSocket upgrade", { status: 400 });
  }

  const origin = `http://127.0.0.1:${server.port}`;
  return {
    origin,
    base: `${origin}${prefix}`,
    misses,
    forwardTo: (url) => void (target = url.replace(/\/$/, "")),
    [Symbol.asyncDispose]: () => server.stop(true),
  };
}
