// `claudemesh dashboard` serves the dashboard page from this machine, not from the broker: the
// page reads the member's secret key and the mesh keys from its link, so the code that reads them
// must come from the user's own claudemesh, never from a broker that could be modified to take
// them (docs/security.md). The page's API calls (/v1/dashboard/…) are forwarded to the broker
// unchanged apart from what the change of origin needs:
// - cookies: the browser keeps them per host, not per port, so two dashboards on 127.0.0.1 would
//   overwrite each other's session. Each server renames the broker's cookies with its port and
//   sends the broker only its own; they lose `Secure`, as 127.0.0.1 is plain http.
// - origin: a state-changing call must come from this page's origin (checked here), and reaches
//   the broker as if from its own; a Host other than ours is refused (DNS rebinding).
// - answers: only JSON and event streams come back, with our own security headers; anything else
//   from the broker (an HTML page would run in this origin, beside the keys) is refused.
// - page keys: the broker's own, passed through (PAGE_KEY_HEADER both ways, and the live view's
//   PAGE_KEY_PARAM): the broker refuses a cookie without its session's key, so a page another
//   local user serves on another 127.0.0.1 port, which the browser also sends these cookies to,
//   cannot use the session, here or at the broker directly.
// The session itself lives in the browser's cookie and its key in the page origin's storage.
import { assetResponse, secured } from "../broker/dashboard-assets.ts";
import { MEMBER_COOKIE, OPERATOR_COOKIE, readCookies } from "../broker/dashboard-sessions.ts";
import { errorResponse } from "../broker/http/errors.ts";
import { closingIfUnread, readBody } from "../broker/http/body.ts";
import { MeshError, type ErrorCode } from "../protocol/errors.ts";
import { PAGE_KEY_HEADER, PAGE_KEYS_ENDED_HEADER } from "../protocol/dashboard-keys.ts";

const API_PREFIX = "/v1/dashboard/";
const BROKER_COOKIES = [MEMBER_COOKIE, OPERATOR_COOKIE];
/** Request headers passed on to the broker; the rest (Host, Origin, Referer, hop-by-hop) are not. */
const FORWARDED_REQUEST = ["accept", "content-type", "last-event-id", "x-dashboard-member", "cache-control", PAGE_KEY_HEADER];
/** Response headers passed back (Set-Cookie apart, renamed); our own Content-Type and security
 *  headers are set. */
const FORWARDED_RESPONSE = ["cache-control", "retry-after", "allow", PAGE_KEY_HEADER, PAGE_KEYS_ENDED_HEADER];
/** What the page's calls get back, by the broker's media type, and the Content-Type we send:
 *  JSON, or the live view's event stream. Anything else (an HTML page, say) would run in this
 *  origin, next to the keys: it is not passed on. */
const API_CONTENT = new Map([
  ["application/json", "application/json;charset=utf-8"],
  ["text/event-stream", "text/event-stream"],
]);
const EVENTS_PATH = `${API_PREFIX}events`;
/** Most sessions one server remembers. A person logs in a few times in a run (a new link, the
 *  operator tab); past this the oldest is ended at the broker and forgotten, so that logins in a
 *  loop cannot grow the server's memory. */
export const MAX_OPENED_SESSIONS = 16;
/** A call to a broker that accepted the connection but does not answer fails after this. */
const CALL_TIMEOUT_MS = 30_000;

/** The Content-Type to send for the broker's `type`, or null when it is not exactly one of ours. */
export function apiContentType(type: string | null): string | null {
  if (type === null || type.includes(",")) return null; // browsers take the last of a list
  return API_CONTENT.get(type.split(";")[0]!.trim().toLowerCase()) ?? null;
}

/** stop() also ends at the broker every session this server's page opened, so that a cookie a
 *  tab still holds is worth nothing once the port is free for someone else to take. */
export type LocalDashboard = { base: string; port: number; stop(): Promise<void> };

/** An error in the broker's shape ({error:{code,message,retryable}}), which the page shows. */
const problem = (code: ErrorCode, message: string) => secured(errorResponse(new MeshError(code, message)));

/** The name this server gives the broker's cookie `name`: browsers keep cookies per host, not
 *  per port, so each local dashboard's carry its port. */
const localCookie = (name: string, port: number) => `${name}_${port}`;

/** The browser's Cookie header as the broker expects it: only this server's cookies, renamed back,
 *  and of those only the values `ours` accepts (the sessions the broker opened through this server). */
export function cookiesForBroker(header: string | null, port: number, ours: (value: string) => boolean): string | null {
  const out = BROKER_COOKIES.flatMap((c) => {
    // Any value of the name: a page on another port may have set one more with a longer Path.
    const value = readCookies(header, localCookie(c, port)).find(ours);
    return value === undefined ? [] : [`${c}=${value}`];
  });
  return out.length ? out.join("; ") : null;
}

/** When the session a broker Set-Cookie opens ends: now plus its Max-Age (never, without one). */
function cookieExpiry(setCookie: string, nowMs: number): number {
  const maxAge = /;\s*max-age=(\d+)/i.exec(setCookie)?.[1];
  return maxAge === undefined ? Infinity : nowMs + Number(maxAge) * 1000;
}

/** A broker Set-Cookie as this server sets it: renamed with the port, without `Secure`. */
export function cookieForBrowser(setCookie: string, port: number): string | null {
  const eq = setCookie.indexOf("=");
  const name = eq > 0 ? setCookie.slice(0, eq).trim() : "";
  if (!BROKER_COOKIES.includes(name)) return null;
  const attrs = setCookie
    .slice(eq + 1)
    .split(";")
    .filter((a, i) => i === 0 || a.trim().toLowerCase() !== "secure");
  return `${localCookie(name, port)}=${attrs.join(";")}`;
}

/** The event the page gets on its live view when this server stops: it forgets the keys and says
 *  so (web/lib/live.ts), instead of keeping them in a tab whose server is gone. */
export const STOPPED_EVENT = "event: stopped\ndata: {}\n\n";

/** A live view passed through, which this server can end with a last event of its own. */
function endable(body: ReadableStream<Uint8Array>, onDone: () => void): { stream: ReadableStream<Uint8Array>; end(last: string): void } {
  const reader = body.getReader();
  let ctrl!: ReadableStreamDefaultController<Uint8Array>;
  let done = false;
  const finish = () => {
    if (done) return false;
    done = true;
    onDone();
    void reader.cancel().catch(() => {});
    return true;
  };
  const stream = new ReadableStream<Uint8Array>({
    start: (c) => void (ctrl = c),
    async pull(c) {
      const r = await reader.read().catch(() => ({ done: true as const, value: undefined }));
      if (done) return;
      if (r.done) {
        finish();
        c.close();
      } else c.enqueue(r.value);
    },
    cancel: () => void finish(),
  });
  return {
    stream,
    end(last) {
      if (!finish()) return;
      ctrl.enqueue(new TextEncoder().encode(last));
      ctrl.close();
    },
  };
}

/** Starts the server on 127.0.0.1 (`port` 0: any free port). `brokerUrl` is the broker's http(s)
 *  base; `now` the clock a session's expiry is judged on (tests set it). */
export function startLocalDashboard(brokerUrl: string, port = 0, { now = Date.now }: { now?: () => number } = {}): LocalDashboard {
  const broker = new URL(brokerUrl);
  const base = brokerUrl.replace(/\/$/, ""); // with the path of a broker behind a reverse proxy
  /** The sessions the broker opened through this server, by cookie value, oldest first: the only
   *  cookies passed to the broker, and ended at stop. A cookie a page merely sends is not ours to
   *  pass on or end, nor worth remembering. One leaves when the broker clears its cookie (a
   *  logout), once it has expired, or past MAX_OPENED_SESSIONS. */
  const opened = new Map<string, { name: string; expiresAt: number }>();
  /** Live views open now, ended with STOPPED_EVENT at stop. */
  const live = new Set<{ end(last: string): void }>();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port,
    // Bodies are bounded by readBody, as the broker's are (1 MiB, answered with a JSON 413 the
    // page can show); Bun's own cap answers an empty 413. A body nothing reads closes the
    // connection with the answer, or Bun would take in the rest for as long as it is sent.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    fetch: async (req) => closingIfUnread(req, await handle(req)),
    // Never Bun's own error page (HTML with script, in this origin). (`development: false` would
    // also hide it, but makes Bun share a port another process listens on.)
    error: (err) => problem("internal", `The dashboard server failed: ${err.message}`),
  });
  const ours = `127.0.0.1:${server.port}`;

  async function handle(req: Request): Promise<Response> {
    if (req.headers.get("host") !== ours) return problem("forbidden", `This server answers only as http://${ours}/.`);
    const url = new URL(req.url);
    if (url.pathname.startsWith(API_PREFIX)) return forward(req, url);
    const asset = req.method === "GET" || req.method === "HEAD" ? await assetResponse(url.pathname) : null;
    return asset ? secured(asset) : problem("not_found", "Only the dashboard's files and its /v1/dashboard/ calls are served here.");
  }

  async function forward(req: Request, url: URL): Promise<Response> {
    const origin = req.headers.get("origin");
    const reads = req.method === "GET" || req.method === "HEAD";
    if (!reads && origin !== null && origin !== `http://${ours}`) return problem("forbidden", "Cross-origin requests to the dashboard are refused.");
    // The live view stays open (the broker's heartbeats keep it moving); any other call is short.
    const stream = url.pathname === EVENTS_PATH;
    const headers = new Headers();
    for (const h of FORWARDED_REQUEST) {
      const v = req.headers.get(h);
      if (v !== null) headers.set(h, v);
    }
    // Only the sessions opened through this server: the browser keeps a port's cookies (and the
    // page its keys) across dashboards, and one on this port before, maybe for another broker,
    // may have died without ending its own; those are not this broker's to see.
    const cookie = cookiesForBroker(req.headers.get("cookie"), server.port!, (value) => opened.has(value));
    if (cookie) headers.set("cookie", cookie);
    if (origin !== null) headers.set("origin", broker.origin);
    let sent: string | undefined;
    try {
      sent = reads ? undefined : await readBody(req);
    } catch (err) {
      if (err instanceof MeshError) return secured(errorResponse(err));
      throw err;
    }
    if (stream) server.timeout(req, 0);
    let upstream: Response;
    try {
      const signal = stream ? req.signal : AbortSignal.any([req.signal, AbortSignal.timeout(CALL_TIMEOUT_MS)]);
      upstream = await fetch(`${base}${url.pathname}${url.search}`, { method: req.method, headers, body: sent, redirect: "manual", signal });
    } catch (err) {
      return problem("unavailable", `The broker at ${broker.origin} did not answer (${(err as Error).message}). Is it running?`);
    }
    const type = apiContentType(upstream.headers.get("content-type"));
    const empty = upstream.status === 204 || upstream.status === 304 || req.method === "HEAD";
    if ((type === null && !empty) || upstream.status < 200 || upstream.status > 599) {
      await upstream.body?.cancel();
      return problem("unavailable", `The broker at ${broker.origin} answered ${url.pathname} with ${upstream.status} ${upstream.headers.get("content-type") ?? "and no type"}, not the dashboard's JSON. Is that address a claudemesh broker?`);
    }
    const out = new Headers(type === null ? {} : { "content-type": type });
    for (const h of FORWARDED_RESPONSE) {
      const v = upstream.headers.get(h);
      if (v !== null) out.set(h, v);
    }
    for (const c of upstream.headers.getSetCookie()) {
      const renamed = cookieForBrowser(c, server.port!);
      if (!renamed) continue;
      out.append("set-cookie", renamed);
      const [name, value] = c.split(";", 1)[0]!.split("=", 2).map((s) => s.trim()) as [string, string | undefined];
      if (value) remember(name, value, cookieExpiry(c, now()));
      else for (const v of readCookies(req.headers.get("cookie"), localCookie(name, server.port!))) opened.delete(v); // cleared: the sessions this call carried ended
    }
    let body: ReadableStream<Uint8Array> | null = upstream.body;
    if (stream && body && type?.startsWith("text/event-stream")) {
      const view = endable(body, () => live.delete(view));
      live.add(view);
      body = view.stream;
    }
    return secured(new Response(body, { status: upstream.status, statusText: upstream.statusText, headers: out }));
  }

  /** Records a session the broker opened, first forgetting those expired and then, past
   *  MAX_OPENED_SESSIONS, ending the oldest. */
  function remember(name: string, value: string, expiresAt: number): void {
    for (const [v, s] of opened) if (s.expiresAt <= now()) opened.delete(v);
    opened.set(value, { name, expiresAt });
    for (const [v, s] of opened) {
      if (opened.size <= MAX_OPENED_SESSIONS) break;
      opened.delete(v);
      void endAtBroker(s.name, v);
    }
  }

  /** Ends one session at the broker (best effort: the broker may be gone). */
  const endAtBroker = (name: string, value: string) =>
    fetch(`${base}/v1/dashboard/logout`, { method: "POST", headers: { cookie: `${name}=${value}`, origin: broker.origin, "content-type": "application/json" }, body: "{}", signal: AbortSignal.timeout(3_000) }).catch(() => {});

  /** Ends at the broker the sessions this page held. */
  async function logOut(): Promise<void> {
    await Promise.all([...opened].map(([value, s]) => endAtBroker(s.name, value)));
  }

  return {
    base: `http://${ours}`,
    port: server.port!,
    stop: async () => {
      for (const view of [...live]) view.end(STOPPED_EVENT);
      // Let those last events and the calls under way finish, then close whatever is left.
      await Promise.race([server.stop(), Bun.sleep(2_000)]);
      await server.stop(true);
      await logOut();
    },
  };
}
