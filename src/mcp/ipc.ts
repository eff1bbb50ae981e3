// The local channel between `claudemesh hook` processes and the session's MCP server: a Unix
// socket in the 0700 config directory (so only this user can connect), one JSON request and one
// JSON reply per connection. The MCP server holds the session's undelivered messages, so hooks
// ask it rather than the broker.
import { createConnection, createServer, type Socket } from "node:net";
import { createHash } from "node:crypto";
import { existsSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import type { SessionHold } from "../client/client-options.ts";
import { ensurePrivateDir } from "../client/local/files.ts";
import type { Refusal } from "./refusal-note.ts";
import { hookHostPid } from "./process-tree.ts";

export type IpcRequest =
  /** unremindedAsks: return only the open asks no hook has reminded of yet. */
  | { op: "pending"; limit?: number; unremindedAsks?: boolean }
  /** ids: shown whole (now read); previewed: shown cut short (still unread, not shown again by hooks);
   *  reminded: open asks the Stop hook reminded of (not reminded of again); refused: the refusals
   *  (refusal-note.ts) it told of (not told again). */
  | { op: "seen"; ids: string[]; previewed?: string[]; reminded?: string[]; refused?: Refusal[] }
  /** host: the pid of the Claude Code that runs the hook (hookHostPid), null when not known: its
   *  newer wait replaces this one (one waiting hook per Claude Code). */
  | { op: "wait"; timeoutMs: number; host?: number | null }
  | { op: "status"; status: "idle" | "working" | "dnd" }
  | { op: "peers" }
  | { op: "offline" };

/** The socket of the MCP server serving Claude session `claudeSessionId`. */
export function socketPath(configDir: string, claudeSessionId: string): string {
  return join(configDir, "run", `${createHash("sha256").update(claudeSessionId).digest("hex").slice(0, 24)}.sock`);
}

/** The second socket of the MCP server started by the Claude Code process `pid`. Claude Code
 *  keeps its MCP server across /clear and /resume but gives the hooks a new session id, so a hook
 *  finds the server through its own ancestors when the session's socket does not answer. */
export function parentSocketPath(configDir: string, pid: number): string {
  return join(configDir, "run", `pid-${pid}.sock`);
}

/** Resolves once a server accepts a connection on `path` (true) or not (false). */
function answers(path: string, timeoutMs: number): Promise<boolean> {
  if (!existsSync(path)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const sock = createConnection(path);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.on("connect", () => done(true));
    sock.on("error", () => done(false));
  });
}

/** The socket a hook of Claude session `claudeSessionId` talks to: the session's own, else the one
 *  of the MCP server its Claude Code process (hookHostPid) started — after /clear or /resume. */
export async function findSocket(configDir: string, claudeSessionId: string | null | undefined): Promise<string | null> {
  return (await answering(configDir, claudeSessionId)) ?? (claudeSessionId ? socketPath(configDir, claudeSessionId) : null);
}

/** findSocket's socket only if a server answers on it, waiting up to `waitMs` for one to start
 *  listening (Claude Code starts its MCP servers beside the SessionStart hook, so one may come up
 *  just after); null if none does: this session has no running claudemesh MCP server. */
export async function runningServer(configDir: string, claudeSessionId: string | null | undefined, waitMs: number): Promise<string | null> {
  const end = Date.now() + waitMs;
  for (;;) {
    const found = await answering(configDir, claudeSessionId);
    if (found || Date.now() >= end) return found;
    await Bun.sleep(100);
  }
}

/** How often a wait hook whose server went away looks for the session's next one. */
const NEXT_SERVER_POLL_MS = 1000;

/** For a wait hook whose server went away (`/mcp` replaces it; after a crash the user's `/mcp`
 *  starts one): findSocket's socket once a server answers on it, looked for every
 *  NEXT_SERVER_POLL_MS, the first time after one interval (so that a server which keeps failing
 *  the hook's request is not asked in a loop); null at `deadline`, or once `stay()` is false (the
 *  Claude Code that runs the hook is gone: nobody is left to wake). */
export async function nextServer(configDir: string, claudeSessionId: string | null | undefined, deadline: number, stay: () => boolean): Promise<string | null> {
  for (;;) {
    await Bun.sleep(Math.max(0, Math.min(NEXT_SERVER_POLL_MS, deadline - Date.now())));
    if (Date.now() >= deadline || !stay()) return null;
    const found = await answering(configDir, claudeSessionId);
    if (found) return found;
  }
}

/** The session's own socket if a server answers on it, else the one of the server its Claude Code
 *  process started (hookHostPid), if that answers. */
async function answering(configDir: string, claudeSessionId: string | null | undefined): Promise<string | null> {
  const own = claudeSessionId ? socketPath(configDir, claudeSessionId) : null;
  if (own && (await answers(own, 300))) return own;
  const host = hookHostPid();
  const byHost = host === null ? null : parentSocketPath(configDir, host);
  return byHost && (await answers(byHost, 300)) ? byHost : null;
}

/** Most bytes of one request (its line, newline excluded): a peer that sends more without a
 *  newline is cut off, so a stuck or hostile local client cannot grow this process. */
const MAX_REQUEST_BYTES = 64 * 1024;
/** Longest Unix socket path: sun_path holds 108 bytes on Linux and 104 on macOS, NUL included. */
const MAX_SOCKET_PATH = process.platform === "darwin" ? 103 : 107;

/** Calls `onLine` once, with the connection's first line (without its newline) once it is whole,
 *  however it is split into chunks. One request per connection: whatever follows is read and
 *  dropped, never taken for the request again (each later chunk used to handle it once more). The
 *  socket keeps being read, so its close is still heard (the `gone` signal). */
function firstLine(sock: Socket, onLine: (line: string) => void): void {
  const parts: Buffer[] = [];
  let size = 0;
  let taken = false;
  sock.on("data", (chunk: Buffer) => {
    if (taken) return;
    const nl = chunk.indexOf(0x0a);
    const part = nl < 0 ? chunk : chunk.subarray(0, nl);
    size += part.length;
    if (size > MAX_REQUEST_BYTES) return void sock.destroy();
    parts.push(part);
    if (nl < 0) return;
    taken = true;
    onLine(Buffer.concat(parts).toString("utf8"));
  });
}

/** A hooks' socket being served. As the session's record of its newest server: `holder()` says
 *  who serves `path` now ("this" server, "another" when a newer server of the session renamed its
 *  socket over it, null when this server never listened or nothing is there), and
 *  `anotherAnswers()` whether a server accepts connections on `path` (not on the socket file a
 *  newer server left when it died). */
export type IpcServer = SessionHold & {
  /** Settles once `path` names this server's socket, or listening failed (onListenError heard why). */
  ready: Promise<void>;
  /** Stops serving, and removes `path` only if it still names this server's socket. */
  close(): void;
};

/** How long anotherAnswers waits: a live server's kernel accepts at once, even while the process
 *  is busy or stopped; a dead one's file is refused at once. */
const ANSWER_WAIT_MS = 1000;

/** Temporary socket names of this process, so that two of its servers never share one. */
let bindCount = 0;

/** Serves requests until closed; `onListenError` hears why it cannot listen. `handle` may take
 *  long (wait); errors become {error}. Its `gone` signal aborts when the asking process hung up (it
 *  was killed while it waited): what it would have been told must then not count as shown.
 *
 *  Two servers of one session may run at once: Claude Code starts the session's MCP server again
 *  (`/mcp`, a crash, an upgrade) without waiting for the old one to exit. The newest takes the path
 *  (hooks must reach it), and the old one's exit must not remove it: the socket is bound under a
 *  name of its own and renamed over `path` (the runtime unlinks the name a socket was bound to when
 *  it closes, whatever that name now holds), and at close `path` is removed only if it is still
 *  this server's socket. */
export function serveIpc(path: string, handle: (req: IpcRequest, gone: AbortSignal) => Promise<unknown>, onListenError: (err: Error) => void): IpcServer {
  const dir = dirname(path);
  ensurePrivateDir(dir);
  // No longer than the shortest name a socket gets here (`pid-1.sock`), so it fits wherever `path` does.
  const bound = join(dir, `.${process.pid.toString(36)}${(bindCount++).toString(36)}`);
  const server = createServer((sock) => {
    const hungUp = new AbortController();
    sock.on("close", () => hungUp.abort());
    sock.on("error", () => {});
    firstLine(sock, (line) => {
      let req: IpcRequest;
      try {
        req = JSON.parse(line);
      } catch {
        return void sock.end(JSON.stringify({ error: "invalid request" }) + "\n");
      }
      handle(req, hungUp.signal).then(
        (res) => sock.end(JSON.stringify(res ?? {}) + "\n"),
        (err) => sock.end(JSON.stringify({ error: (err as Error)?.message ?? String(err) }) + "\n"),
      );
    });
  });
  let mine: { dev: number; ino: number } | null = null;
  const ready = new Promise<void>((resolve) => {
    const failed = (err: Error) => (onListenError(err), resolve());
    server.on("error", failed);
    // A path longer than a socket address holds (a long CLAUDEMESH_CONFIG_DIR) left the hooks with
    // no server to ask, and nobody told: Bun's listen neither creates the socket nor fails.
    const longest = Math.max(Buffer.byteLength(path), Buffer.byteLength(bound));
    if (longest > MAX_SOCKET_PATH) return failed(new Error(`the socket path is ${Buffer.byteLength(path)} bytes, more than the ${MAX_SOCKET_PATH} a Unix socket address holds: ${path}`));
    rmSync(bound, { force: true }); // left by an earlier process that had this pid
    server.listen(bound, () => {
      try {
        // Replaces a socket a previous server of this session left (it died without removing it),
        // or the one an older server of this session still serves.
        renameSync(bound, path);
        const st = statSync(path);
        mine = { dev: st.dev, ino: st.ino };
        resolve();
      } catch (err) {
        failed(err as Error);
      }
    });
  });
  return {
    ready,
    holder() {
      if (!mine) return null;
      const st = statSync(path, { throwIfNoEntry: false });
      if (!st) return null;
      return st.dev === mine.dev && st.ino === mine.ino ? "this" : "another";
    },
    anotherAnswers: () => answers(path, ANSWER_WAIT_MS),
    close() {
      server.close();
      try {
        const st = statSync(path);
        if (mine && st.dev === mine.dev && st.ino === mine.ino) rmSync(path, { force: true });
      } catch {
        // already gone
      }
    },
  };
}

/** Sends one request; resolves with the reply, or null if no server answers within `timeoutMs`
 *  (no MCP server for this session, or it is stuck) or once `signal` aborts (the connection is
 *  closed: the server hears the hang-up): callers fall back, never hang. */
export function askIpc<T>(path: string, req: IpcRequest, timeoutMs: number, signal?: AbortSignal): Promise<T | null> {
  if (signal?.aborted) return Promise.resolve(null);
  return new Promise((resolve) => {
    let buf = "";
    let done = false;
    const finish = (v: T | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", aborted);
      sock.destroy();
      resolve(v);
    };
    const aborted = () => finish(null);
    signal?.addEventListener("abort", aborted);
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
