// A raw WebSocket probe for protocol tests: send exact text, read frames in order, observe the close.
export type RawSocket = {
  ws: WebSocket;
  send(frame: unknown): void;
  next(timeoutMs?: number): Promise<any>;
  closed: Promise<{ code: number; reason: string }>;
};

export function rawSocket(baseUrl: string): Promise<RawSocket> {
  const ws = new WebSocket(baseUrl.replace(/^http/, "ws") + "/ws");
  const frames: any[] = [];
  const waiting: ((f: any) => void)[] = [];
  ws.onmessage = (ev) => {
    const f = JSON.parse(String(ev.data));
    const w = waiting.shift();
    if (w) w(f);
    else frames.push(f);
  };
  const closed = new Promise<{ code: number; reason: string }>((r) => (ws.onclose = (ev) => r({ code: ev.code, reason: ev.reason })));
  return new Promise((resolve, reject) => {
    ws.onopen = () =>
      resolve({
        ws,
        send: (f) => ws.send(typeof f === "string" ? f : JSON.stringify(f)),
        next: (timeoutMs = 5000) =>
          frames.length > 0
            ? Promise.resolve(frames.shift())
            : new Promise((res, rej) => {
                const t = setTimeout(() => rej(new Error("no frame within timeout")), timeoutMs);
                waiting.push((f) => {
                  clearTimeout(t);
                  res(f);
                });
              }),
        closed,
      });
    ws.onerror = () => reject(new Error("websocket error"));
  });
}
