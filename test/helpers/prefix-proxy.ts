// A reverse proxy that serves a broker under a path, as an operator's nginx or Caddy would
// (`location /cm/ { proxy_pass http://127.0.0.1:7900/; }`): `/cm/x` is forwarded as `/x` with the
// broker's own Host, `/cm` is redirected to `/cm/` (nginx does that for such a location; with
// `{ bareToRoot: true }` it is forwarded as `/`, as Caddy's `handle_path /cm*` does), response
// bodies stream through (the dashboard's live view is Server-Sent Events), and anything outside
// the prefix is a 404 that the test can see in `misses`. With `{ normalize: true }` the path is
// first normalized as nginx does before it matches a location and builds the upstream URI:
// percent-decoded (`%2F` included), slashes merged, `.` and `..` resolved.
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

export function prefixProxy(prefix = "/cm", opts: { bareToRoot?: boolean; normalize?: boolean } = {}): PrefixProxy {
  let target: string | null = null;
  const misses: string[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0, // the live view's stream may be quiet for longer than the default 10 s
    async fetch(req) {
      const url = new URL(req.url);
      if (opts.normalize) url.pathname = normalized(url.pathname);
      if (url.pathname === prefix && !opts.bareToRoot) return new Response(null, { status: 301, headers: { location: `${prefix}/${url.search}` } });
      if (!(url.pathname.startsWith(`${prefix}/`) || url.pathname === prefix) || target === null) {
        misses.push(url.pathname);
        return new Response("not behind this proxy", { status: 404 });
      }
      const headers = new Headers(req.headers);
      headers.delete("host");
      const hasBody = req.method !== "GET" && req.method !== "HEAD";
      const upstream = await fetch(`${target}${url.pathname.slice(prefix.length) || "/"}${url.search}`, { method: req.method, headers, body: hasBody ? await req.arrayBuffer() : undefined, redirect: "manual", signal: req.signal });
      const out = new Headers(upstream.headers);
      for (const h of HOP_HEADERS) out.delete(h);
      return new Response(upstream.body, { status: upstream.status, headers: out });
    },
  });
  const origin = `http://127.0.0.1:${server.port}`;
  return {
    origin,
    base: `${origin}${prefix}`,
    misses,
    forwardTo: (url) => void (target = url.replace(/\/$/, "")),
    [Symbol.asyncDispose]: () => server.stop(true),
  };
}
