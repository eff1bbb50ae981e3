// The broker under publicUrl's path as well as at the root. A reverse proxy that passes its path
// through (nginx `proxy_pass http://127.0.0.1:7900;` without the trailing slash, Traefik without
// StripPrefix) sends `/cm/health` for publicUrl https://host/cm; one that strips it sends
// `/health`; an SSH tunnel or a local check asks for `/health`. All three are served: a path under
// the prefix is handled as the rest of it, anything else as it is. config/address.ts refuses a
// prefix that begins with one of the broker's own route names, so no path means two things.
// Whichever way, the request handed on has an http:// URL: Elysia finds the path just past
// `http://` (http/app.ts), and a broker serving TLS itself receives https:// ones.
import type { Server } from "bun";

/** What Bun's server tells about a request: only the one it received, not a copy with another URL. */
export type ServerView = Pick<Server<unknown>, "requestIP" | "timeout">;

/** The request to handle and its path, or the answer (a redirect) that ends it there. */
export type Routed = { request: Request; path: string } | { answer: Response };

export class PathPrefix {
  /** Each rewritten request → the one Bun received, whose peer address and timeout Bun knows. */
  readonly #received = new WeakMap<Request, Request>();

  /** `prefix`: config/address.ts publicPathPrefix ("" for none, else "/cm" without a final slash). */
  constructor(readonly prefix: string) {}

  /** Where `request` (at `url`, its parsed URL) goes. `<prefix>/…` becomes `/…` in a new Request
   *  with the same method, headers, body and abort signal; a GET or HEAD of `<prefix>` itself is
   *  redirected to `<prefix>/` (the dashboard's relative file names need the slash); any other
   *  method there is handled as `/`. Every other path is handled as it is. */
  route(request: Request, url: URL): Routed {
    const path = url.pathname;
    if (url.protocol === "https:") {
      url = new URL(url);
      url.protocol = "http:";
    }
    if (this.prefix === "" || !path.startsWith(this.prefix)) return { request: this.whole(request, url), path };
    const rest = path.slice(this.prefix.length);
    if (rest === "" && (request.method === "GET" || request.method === "HEAD")) {
      // Relative to `<prefix>` itself (its last segment, then a slash), as /docs/'s redirect is.
      const location = `./${this.prefix.slice(this.prefix.lastIndexOf("/") + 1)}/${url.search}`;
      return { answer: new Response(null, { status: 308, headers: { location } }) };
    }
    if (rest !== "" && !rest.startsWith("/")) return { request: this.whole(request, url), path }; // /cmx is not under /cm
    const inner = new URL(url);
    inner.pathname = rest || "/";
    return { request: this.copy(request, inner), path: inner.pathname };
  }

  /** `request` itself, or a copy at `url` when Bun gave only its path (an HTTP/1.0 request
   *  without Host) or an https:// URL, which Elysia cannot route. */
  private whole(request: Request, url: URL): Request {
    return request.url.startsWith("http://") ? request : this.copy(request, url);
  }

  /** `request` at `url`: the same method, headers, body and abort signal, remembered for informant. */
  private copy(request: Request, url: URL): Request {
    const rewritten = new Request(url, request);
    this.#received.set(rewritten, request);
    return rewritten;
  }

  /** `server` as the routes should ask it: about the request Bun received when they hold a
   *  rewritten one (Bun answers null for a Request it did not receive, which would have put every
   *  client behind the prefix under one "unknown" address). */
  informant(server: () => ServerView): ServerView {
    const received = (r: Request) => this.#received.get(r) ?? r;
    return {
      requestIP: (r) => server().requestIP(received(r)),
      timeout: (r, seconds) => server().timeout(received(r), seconds),
    };
  }
}
