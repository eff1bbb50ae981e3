// The live view: a Server-Sent Events stream of the viewer's mesh events, fed by hub.subscribe (the
// same events the mesh's sockets get, from the one place they are emitted). The page refreshes what
// an event touches. The stream ends when the session expires, the member is removed, the client
// goes away, or the broker stops.
import { Elysia } from "elysia";
import { MeshError } from "../../protocol/errors.ts";
import type { BrokerContext } from "../context.ts";
import type { Dashboard } from "../dashboard-state.ts";
import { viewerOf } from "./dashboard-auth.ts";

/** Comment lines keep proxies, the browser and Bun's 10 s idle timer from closing the stream. */
const HEARTBEAT_MS = 8_000;
/** Open streams per broker, and per member (a few tabs each); beyond them a page reloads by hand. */
const MAX_STREAMS = 1_000;
const MAX_STREAMS_PER_MEMBER = 16;

export function dashboardEventRoutes(ctx: BrokerContext, dash: Dashboard) {
  const perMember = new Map<string, number>();
  return new Elysia({ name: "dashboard-events" }).get(
    "/v1/dashboard/events",
    async ({ request }) => {
      const v = await viewerOf(ctx, dash, request);
      const { meshId, id: memberId } = v.member;
      if (dash.streams.size >= MAX_STREAMS || (perMember.get(memberId) ?? 0) >= MAX_STREAMS_PER_MEMBER) throw new MeshError("unavailable", "Too many live dashboard views are open; close some tabs or reload later.");
      perMember.set(memberId, (perMember.get(memberId) ?? 0) + 1);
      // Bun closes idle HTTP connections after 10 s by default; this one is idle by design.
      dash.server?.timeout(request, 0);
      const encoder = new TextEncoder();
      let cleanup = () => {};
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          const write = (text: string) => {
            try {
              controller.enqueue(encoder.encode(text));
            } catch {
              end();
            }
          };
          const send = (event: string, data: unknown) => write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
          const unsubscribe = ctx.hub.subscribe(meshId, (event, data) => {
            send(event, data);
            if (event === "member_revoked" && data.memberId === memberId) end();
          });
          const heartbeat = setInterval(() => write(": keep-alive\n\n"), HEARTBEAT_MS);
          const expiry = setTimeout(() => end(), Math.max(0, v.sessionExpiresAt - ctx.now()));
          let done = false;
          cleanup = () => {
            if (done) return;
            done = true;
            const n = (perMember.get(memberId) ?? 1) - 1;
            if (n <= 0) perMember.delete(memberId);
            else perMember.set(memberId, n);
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
          dash.streams.add(end);
          request.signal.addEventListener("abort", end);
          send("ready", { meshId });
        },
        cancel() {
          cleanup();
        },
      });
      return new Response(stream, { headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store" } });
    },
    { detail: { summary: "Live events of your mesh (text/event-stream)", tags: ["dashboard"] } },
  );
}
