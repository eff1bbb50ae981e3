// The local channel between `claudemesh hook` processes and the session's MCP server: a Unix
// socket in the 0700 config directory (so only this user can connect), one JSON request and one
// JSON reply per connection. The MCP server holds the session's undelivered messages, so hooks
// ask it rather than the broker.
import { createConnection, createServer, type Server } from "node:net";
import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { ensurePrivateDir } from "../client/local/files.ts";

export type IpcRequest =
  | { op: "pending"; limit?: number }
  /** ids: shown whole (now read); previewed: shown cut short (still unread, not shown again by hooks). */
  | { op: "seen"; ids: string[]; previewed?: string[] }
  | { op: "wait"; timeoutMs: number }
  | { op: "status"; status: "idle" | "working" | "dnd" }
  | { op: "peers" }
  | { op: "offline" };

/** The socket of the MCP server serving Claude session `claudeSessionId`. */
export function socketPath(configDir: string, claudeSessionId: string): string {
  return join(configDir, "run", `${createHash("sha256").update(claudeSessionId).digest("hex").slice(0, 24)}.sock`);
}

const MAX_REQUEST_BYTES = 64 * 1024;

/** Serves requests until closed. `handle` may take long (wait); errors become {error}. */
export function serveIpc(path: string, handle: (req: IpcRequest) => Promise<unknown>): Server {
  ensurePrivateDir(join(path, ".."));
  rmSync(path, { force: true }); // a previous server of this session died without removing it
  const server = createServer((sock) => {
    let buf = "";
    sock.setEncoding("utf8");
    sock.on("data", (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_REQUEST_BYTES) return sock.destroy();
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      let req: IpcRequest;
      try {
        req = JSON.parse(buf.slice(0, nl));
      } catch {
        return void sock.end(JSON.stringify({ error: "invalid request" }) + "\n");
      }
      handle(req).then(
        (res) => sock.end(JSON.stringify(res ?? {}) + "\n"),
        (err) => sock.end(JSON.stringify({ error: (err as Error)?.message ?? String(err) }) + "\n"),
      );
    });
    sock.on("error", () => {});
  });
  server.listen(path);
  return server;
}

/** Sends one request; resolves with the reply, or null if no server answers within `timeoutMs`
 *  (no MCP server for this session, or it is stuck): callers fall back, never hang. */
export function askIpc<T>(path: string, req: IpcRequest, timeoutMs: number): Promise<T | null> {
  return new Promise((resolve) => {
    let buf = "";
    let done = false;
    const finish = (v: T | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const sock = createConnection(path);
    const timer = setTimeout(() => finish(null), timeoutMs);
    sock.setEncoding("utf8");
    sock.on("connect", () => sock.write(JSON.stringify(req) + "\n"));
    sock.on("data", (c: string) => {
      buf += c;
      const nl = buf.indexOf("\n");
      if (nl >= 0) {
        try {
          const v = JSON.parse(buf.slice(0, nl));
          finish(v?.error ? null : (v as T));
        } catch {
          finish(null);
        }
      }
    });
    sock.on("error", () => finish(null));
    sock.on("close", () => finish(null));
  });
}
