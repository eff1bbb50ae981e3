// The live view: a Server-Sent Events stream of the viewer's mesh events, fed by hub.subscribe (the
// same events the mesh's sockets get, from the one place they are emitted). The page refreshes what
// an event touches. The stream ends when the session expires, the member is removed, the client
// goes away or stops reading, or the broker stops.
import { Elysia } from "elysia";
import { MeshError } from "../../protocol/errors.ts";
import type { BrokerContext } from "../context.ts";
import type { Dashboard } from "../dashboard-state.ts";
import { addressKey } from "../client-ip.ts";
import { clientIpOf, stillSignedIn, viewerOf, type Viewer } from "./dashboard-auth.ts";
import { MEMBER_COOKIE } from "../dashboard-sessions.ts";
import { describe, MEMBER_ERRORS, queryParam } from "./openapi.ts";
import { PAGE_KEY_PARAM } from "../../protocol/dashboard-keys.ts";

/** Comment lines keep proxies, the browser and Bun's 10 s idle timer from closing the stream. */
const HEARTBEAT_MS = 8_000;
/** Open streams per member (a few tabs each) and per mesh: a mesh at its cap refuses its own new
 *  streams (503 `unavailable`), never another mesh's. Per client address the broker's
 *  `maxConnectionsPerIp` applies (429 `too_many_connections`), as for WebSocket connections. */
export const MAX_STREAMS_PER_MEMBER = 16;
export const MAX_STREAMS_PER_MESH = 256;
/** Broker-wide ceiling, a resource bound only (each stream holds a socket, a timer and a hub
 *  subscription; well under the packaged LimitNOFILE of 65536). */
export const MAX_STREAMS = 10_000;
/** Bytes a stream may hold unsent for a client that stopped reading (on top of the kernel's socket
 *  buffers, which Bun fills first). Past it the stream is dropped, as a WebSocket past its
 *  backpressure limit is: without a bound, one paused client of a busy mesh grows the broker's
 *  memory for as long as it stays connected. 1 MiB is over a thousand events; the page reconnects
 *  and redraws (docs/dashboard.md, "Live updates"). */
export const MAX_UNSENT_BYTES = 1024 * 1024;

export type StreamLimits = { total: number; perMesh: number; perMember: number; perIp: number };

/** Counts open streams by mesh, member and client address. `take` throws before counting anything. */
export class StreamSlots {
  private total = 0;
  private readonly counts = new Map<string, number>();

  constructor(private readonly limits: StreamLimits) {}

  take(meshId: string, memberId: string, ip: string): () => void {
    const keys = [`mesh:${meshId}`, `member:${meshId}/${memberId}`, `ip:${ip}`] as const;
    const [mesh, member, addr] = keys.map((k) => this.counts.get(k) ?? 0) as [number, number, number];
    if (member >= this.limits.perMember) throw new MeshError("unavailable", "You have too many live dashboard views open; close some tabs or reload later.");
    if (mesh >= this.limits.perMesh) throw new MeshError("unavailable", "Your mesh has too many live dashboard views open; close some tabs or reload later.");
    if (addr >= this.limits.perIp) throw new MeshError("too_many_connections", "Too many live dashboard views are open from this address; close some tabs or reload later.");
    if (this.total >= this.limits.total) throw new MeshError("unavailable", "The broker has too many live dashboard views open; reload later.");
    this.total++;
    for (const k of keys) this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      for (const k of keys) {
        const n = (this.counts.get(k) ?? 1) - 1;
        if (n <= 0) this.counts.delete(k);
        else this.counts.set(k, n);
      }
    };
  }
}

/** The event stream of one viewer. It ends (and gives its slot back through `release`) when the
 *  session expires or is gone at a heartbeat, the member is removed, the client goes away, the
 *  broker stops, or MAX_UNSENT_BYTES wait unsent. */
function liveStream(ctx: BrokerContext, dash: Dashboard, v: Viewer, request: Request, ip: string, release: () => void): ReadableStream<Uint8Array> {
  const { meshId, id: memberId } = v.member;
  const encoder = new TextEncoder();
  let cleanup = () => {};
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const write = (text: string) => {
          try {
            controller.enqueue(encoder.encode(text));
          } catch {
            return end();
          }
          // Bun stops pulling once the socket is backed up, so desiredSize is the room left under
          // MAX_UNSENT_BYTES (the strategy below counts bytes).
          if ((controller.desiredSize ?? 0) < 0) drop(MAX_UNSENT_BYTES - controller.desiredSize!);
        };
        const send = (event: string, data: unknown) => write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
        const unsubscribe = ctx.hub.subscribe(meshId, (event, data) => {
          send(event, data);
          if (event === "member_revoked" && data.memberId === memberId) end();
        });
        // A session signed out (another tab's logout) or evicted ends its streams at the next
        // heartbeat: the cookie's session is looked up again.
        const heartbeat = setInterval(() => (stillSignedIn(dash, request, MEMBER_COOKIE, v.session) ? write(": keep-alive\n\n") : end()), HEARTBEAT_MS);
        const expiry = setTimeout(() => end(), dash.sessions.remainingMs(v.session));
        let done = false;
        cleanup = () => {
          if (done) return;
          done = true;
          release();
          unsubscribe();
          clearInterval(heartbeat);
          clearTimeout(expiry);
          dash.streams.delete(end);
        };
        function end() {
          cleanup();
          try {
            controller.close();
          } catch {}
        }
        // error() discards the queue at once and Bun aborts the connection; close() would keep the
        // queue until a client that may never read again has taken it. No reason is passed: Bun
        // prints one to stderr, which carries only the broker's JSON log lines.
        function drop(unsentBytes: number) {
          ctx.log.info("dashboard stream dropped: the client stopped reading", { meshId, memberId, ip, unsentBytes });
          cleanup();
          try {
            controller.error();
          } catch {}
        }
        dash.streams.add(end);
        request.signal.addEventListener("abort", end);
        // Whose stream this is: after a reconnect it follows the browser's cookie, which a login
        // in another tab may have given to another member.
        send("ready", { meshId, memberId });
      },
      cancel() {
        cleanup();
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: MAX_UNSENT_BYTES }),
  );
}

export function dashboardEventRoutes(ctx: BrokerContext, dash: Dashboard) {
  // perIp: the maxConnectionsPerIp in force at each stream's start.
  const slots = new StreamSlots({
    total: MAX_STREAMS,
    perMesh: MAX_STREAMS_PER_MESH,
    perMember: MAX_STREAMS_PER_MEMBER,
    get perIp() {
      return ctx.config.maxConnectionsPerIp;
    },
  });
  return new Elysia({ name: "dashboard-events" }).get(
    "/v1/dashboard/events",
    async ({ request }) => {
      // An EventSource sends no headers: the page key may come as a query parameter here.
      const v = await viewerOf(ctx, dash, request, "header or query");
      const headers = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store" };
      // A HEAD gets the headers only: a stream would hold it open (and a slot) for nothing.
      if (request.method === "HEAD") return new Response(null, { headers });
      const ip = clientIpOf(ctx, dash, request) ?? "unknown";
      const release = slots.take(v.member.meshId, v.member.id, addressKey(ip));
      // Bun closes idle HTTP connections after 10 s by default; this one is idle by design.
      dash.server?.timeout(request, 0);
      return new Response(liveStream(ctx, dash, v, request, ip, release), { headers });
    },
    { detail: { summary: "Live events of your mesh (text/event-stream)", tags: ["dashboard"], ...describe({ auth: "memberStream", ok: { 200: "A text/event-stream of the mesh's events, until sign-out or removal." }, errors: [...MEMBER_ERRORS, "too_many_connections"], parameters: [queryParam(PAGE_KEY_PARAM, "The page key, when the X-Dashboard-Page-Key header cannot be sent (an EventSource).", { type: "string" })] }) } },
  );
}
