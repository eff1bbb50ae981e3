// Live updates: the broker's Server-Sent Events for the signed-in mesh. The browser reconnects by
// itself after a drop; the badge in the header says whether the stream is up.
const EVENTS = ["peer_joined", "peer_left", "peer_status", "member_joined", "member_revoked", "key_rotated", "topic_created"] as const;

export type LiveEvent = { event: (typeof EVENTS)[number]; data: Record<string, unknown> };

export function startLive(onEvent: (e: LiveEvent) => void, badge: HTMLElement): () => void {
  const source = new EventSource("/v1/dashboard/events");
  const mark = (on: boolean) => {
    badge.className = `live ${on ? "on" : "off"}`;
    badge.textContent = on ? "live" : "offline";
  };
  source.addEventListener("ready", () => mark(true));
  source.addEventListener("error", () => mark(source.readyState === EventSource.OPEN));
  for (const event of EVENTS) {
    source.addEventListener(event, (m) => {
      try {
        onEvent({ event, data: JSON.parse((m as MessageEvent<string>).data) });
      } catch {}
    });
  }
  return () => {
    source.close();
    mark(false);
  };
}
