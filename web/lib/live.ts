// Live updates: the broker's Server-Sent Events for the signed-in mesh. The browser reconnects by
// itself after a drop; the badge in the header says whether the stream is up.
import { routeUrl } from "./api.ts";
import { pageKeyQuery } from "./page-keys.ts";

const EVENTS = ["peer_joined", "peer_left", "peer_status", "member_joined", "member_revoked", "key_rotated", "topic_created"] as const;

export type LiveEvent = { event: (typeof EVENTS)[number]; data: Record<string, unknown> };

/** Waits before opening a new stream after the browser gave up on one: doubling, capped. */
const RETRY_MS = 5000;
const RETRY_MAX_MS = 60_000;

/** Whose stream it is (the `ready` event): it follows the browser's cookie, so after a reconnect it
 *  may be another member's than the page shows (a login in another tab). */
export type StreamOwner = { meshId?: unknown; memberId?: unknown };

/** @param onResync called when a stream is up again after a drop: events of the gap are not
 *  replayed, so the page redraws (which also shows "session ended" when that is why it dropped).
 *  @param isMine called with every stream's `ready`, the first included, before any of its events:
 *  false (another member's stream) closes it for good.
 *  @param onStopped called on `stopped`, which `claudemesh dashboard` sends as it stops serving the
 *  page (src/cli/dashboard-server.ts); the stream is closed for good first. */
export function startLive(onEvent: (e: LiveEvent) => void, badge: HTMLElement, onResync: () => void, isMine: (owner: StreamOwner) => boolean, onStopped: () => void): () => void {
  let source: EventSource;
  let opened = false;
  let stopped = false;
  let retries = 0;
  const mark = (on: boolean) => {
    badge.className = `live ${on ? "on" : "off"}`;
    // Says what it is about in words: a tooltip reaches neither the keyboard nor a touch screen.
    badge.textContent = on ? "live updates" : "updates offline";
  };
  const open = () => {
    source = new EventSource(routeUrl(`/v1/dashboard/events${pageKeyQuery()}`));
    source.addEventListener("ready", (m) => {
      let owner: StreamOwner = {};
      try {
        owner = Object(JSON.parse((m as MessageEvent<string>).data));
      } catch {}
      if (!isMine(owner)) return stop();
      mark(true);
      if (opened) onResync();
      opened = true;
      retries = 0;
    });
    source.addEventListener("error", () => {
      mark(source.readyState === EventSource.OPEN);
      // A non-200 answer (a restart ended the session, or it expired) stops the browser's own
      // retries: redraw now (a 401 shows "session ended") and try again later ourselves.
      if (source.readyState !== EventSource.CLOSED || stopped) return;
      onResync();
      setTimeout(() => !stopped && open(), Math.min(RETRY_MS * 2 ** retries++, RETRY_MAX_MS));
    });
    source.addEventListener("stopped", () => {
      stop();
      onStopped();
    });
    for (const event of EVENTS) {
      source.addEventListener(event, (m) => {
        try {
          onEvent({ event, data: JSON.parse((m as MessageEvent<string>).data) });
        } catch {}
      });
    }
  };
  const stop = () => {
    stopped = true;
    source.close();
    mark(false);
  };
  open();
  return stop;
}
