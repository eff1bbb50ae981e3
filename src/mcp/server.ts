// `claudemesh mcp`: the MCP server Claude Code starts over stdio, one per session. stdout carries
// only JSON-RPC (every log goes to stderr). It declares the claude/channel capability and rings the
// doorbell (notifications/claude/channel) for each new message, but a message counts as delivered
// only when a tool returned it or a hook injected it; hooks reach this process over a local socket.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";
import { loadConfig } from "../client/local/config-file.ts";
import { LocalFileError } from "../client/local/files.ts";
import type { Log } from "../log/log.ts";
import { VERSION } from "../version.ts";
import { Meshes } from "./meshes.ts";
import { INSTRUCTIONS, meshTools } from "./tools.ts";
import { frameBatch, MAX_INJECTION_CHARS } from "./framing.ts";
import { hookRefusalNote, injectionBudget } from "./refusal-note.ts";
import { Doorbell } from "./doorbell.ts";
import { parentSocketPath, serveIpc, socketPath, type IpcRequest, type IpcServer } from "./ipc.ts";
import type { SessionHold } from "../client/client-options.ts";
import type { Pending } from "./mesh-link.ts";
import { onStop } from "../local-file/interrupt.ts";
import { WAKE_WAIT_MS } from "./wake-wait.ts";

/** `connectGraceMs`: connect to the brokers only once used (the first tool call or hook request),
 *  or this long after `initialize`. */
export type McpOptions = { configDir: string; claudeSessionId: string; connectGraceMs: number; label: string; cwd: string; hostname: string; log: Log };

/** How long a server that defers its connect waits after `initialize` before connecting anyway,
 *  when no tool call or hook came first. Connecting makes this session a peer on every mesh, on
 *  the roster until the message TTL. A health check (`claude mcp list`) initializes, perhaps lists
 *  the tools, and closes stdin within about a second: it never connects, so it leaves no peer
 *  behind and its exit waits for nothing. */
export const CONNECT_GRACE_MS = 5000;
/** The same for a server given a Claude session id: Claude Code gives its health check one too,
 *  so it may be one, but a real session's SessionStart hook connects it at once anyway. */
export const SESSION_CONNECT_GRACE_MS = 1500;
/** How long an unused server's exit waits for the broker to end the session it began. */
const FORGET_MS = 1000;
/** Only a server that lived less than this may be a health check (they last about a second). */
const HEALTH_CHECK_MAX_MS = 30_000;

/** Longest the SessionStart hook's `peers` request waits for a first connect: the hook waits 2 s
 *  for the whole answer, list_peers included. */
const HOOK_CONNECT_WAIT_MS = 1500;

/** How long the messages a hook was handed wait for its `seen` (it prints them and says so within
 *  milliseconds) before they count as unread again: the hook was killed in between. */
export const HANDOUT_MS = 5000;

/** This session's meshes, or none and why (a damaged config.json, a directory others can read, a
 *  session key file that cannot be read): the server then still starts, on no mesh, so that
 *  Claude and the user learn why from the instructions, every tool's answer and the SessionStart
 *  hook, instead of a server Claude Code lists as failed with the reason only in its MCP log. */
function meshesOrExplain(opts: McpOptions, sessionHold: SessionHold): { meshes: Meshes; problem: string | null } {
  try {
    return { meshes: new Meshes(loadConfig(opts.configDir).meshes, { ...opts, sessionHold }), problem: null };
  } catch (err) {
    const fix = err instanceof LocalFileError && err.fix ? ` Fix: ${err.fix}.` : "";
    const problem = `claudemesh cannot use its local files, so this session is on no mesh: ${(err as Error)?.message ?? String(err)}${fix} The user fixes this in a terminal (\`claudemesh doctor\` checks it), then restarts this Claude Code session.`;
    return { meshes: new Meshes([], opts), problem };
  }
}

export async function runMcpServer(opts: McpOptions): Promise<void> {
  // The session's socket is also its record of which server of the session is the newest: each
  // takes the path over when it starts (serveIpc), before it connects.
  let sessionIpc: IpcServer | null = null;
  let ipcs: IpcServer[] = [];
  // A newer server that died without removing its socket holds nothing: this server reconnects,
  // and takes the socket paths back so that hooks reach it again.
  const sessionHold: SessionHold = {
    holder: () => sessionIpc?.holder() ?? null,
    anotherAnswers: async () => {
      if (!sessionIpc || (await sessionIpc.anotherAnswers())) return true;
      listenAll();
      return false;
    },
  };
  const { meshes, problem } = meshesOrExplain(opts, sessionHold);
  if (problem) opts.log.warn("mcp server started on no mesh", { problem });
  const mcp = new McpServer({ name: "claudemesh", version: VERSION }, { capabilities: { tools: {}, experimental: { "claude/channel": {} } }, instructions: problem ? `${INSTRUCTIONS}\n\n${problem}` : INSTRUCTIONS });
  // Connects every mesh; only the first call does anything. Any tool call connects (a server that
  // deferred it is now in use), and a tool that needs a mesh waits for its first connect (whenOpen).
  const connect = () => void meshes.start();
  // Used: a tool was called or a hook asked. A server that exits unused may have been a health
  // check that outlived its grace: it ends the session it began (shutdown).
  let used = false;
  const use = () => {
    used = true;
    connect();
  };
  for (const t of meshTools(meshes)) {
    // Strict: an argument the tool does not have (`replyTo` for reply_to, `timeout` for
    // timeout_seconds) is refused, naming it, instead of being dropped and the call made without it.
    mcp.registerTool(t.name, { description: t.description, inputSchema: z.object(t.inputSchema).strict() }, (args, extra) => {
      if (problem) return Promise.resolve({ content: [{ type: "text" as const, text: problem }], isError: true });
      use();
      return t.handler(args, extra);
    });
  }
  mcp.server.oninitialized = () => setTimeout(connect, opts.connectGraceMs);

  // The doorbell: best effort, never the delivery guarantee, and rate-limited (doorbell.ts).
  const doorbell = new Doorbell((content, meta) => {
    mcp.server.notification({ method: "notifications/claude/channel", params: { content, meta } } as never).catch((err) => opts.log.debug("channel notification failed", { err }));
  });
  // A push that carried the message tells the model to answer it with mesh_reply: it may. It is
  // still unread (channels may be off, and nothing confirms a push), so hooks and mesh_inbox show it.
  meshes.onMessage((m) => {
    if (doorbell.message(m)) meshes.pushed(m);
  });
  meshes.onSeen(() => doorbell.read());

  // Hooks find this server by their session id; after /clear or /resume Claude Code gives them a
  // new one but keeps this process, so it also listens under its parent's (Claude Code's) pid.
  const hookState: HookState = { meshes, connect, problem, log: opts.log, waits: new Map() };
  const handler = (req: IpcRequest, gone: AbortSignal) => {
    used = true;
    return handleHook(req, gone, hookState);
  };
  const listen = (path: string) =>
    serveIpc(path, handler, (err) => opts.log.warn("hooks cannot reach this server: it cannot listen on its socket", { path, err, fix: "use a shorter CLAUDEMESH_CONFIG_DIR" }));
  /** Listens on the session's socket and the parent's, in place of any this server had. */
  const listenAll = () => {
    for (const ipc of ipcs) ipc.close();
    sessionIpc = listen(socketPath(opts.configDir, opts.claudeSessionId));
    ipcs = [sessionIpc, listen(parentSocketPath(opts.configDir, process.ppid))];
  };
  listenAll();
  const transport = new StdioServerTransport();
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    const healthCheck = !used && process.uptime() * 1000 < HEALTH_CHECK_MAX_MS;
    const forgotten = healthCheck ? Promise.all(meshes.links.map((l) => l.forgetIfNew(FORGET_MS))) : Promise.resolve();
    // Keys learnt or a removal seen may still be waiting for the config lock (a few seconds at
    // most). Waited for after the session is ended: the links stay connected until close, so a
    // keys push or a kick meanwhile starts a write too.
    const written = forgotten.finally(() => Promise.all(meshes.links.map((l) => l.written())));
    void written.finally(() => {
      meshes.close();
      for (const ipc of ipcs) ipc.close();
      process.exit(0);
    });
  };
  transport.onclose = shutdown;
  process.stdin.on("end", shutdown);
  // Claude Code ends a session's server by closing stdin, then SIGTERM; both save the replay memory.
  // A closed terminal (a tab shut, an ssh session dropped) sends SIGHUP to the foreground process
  // group, this server included: killed by it, the server lost the last reads' record (shown to the
  // next run of the session again) and left its hook sockets behind.
  onStop(shutdown);
  await mcp.connect(transport);
  opts.log.info("mcp server ready", { meshes: meshes.links.map((l) => l.slug), session: opts.claudeSessionId, connectGraceMs: opts.connectGraceMs });
}

/** What the server keeps for the hooks of its session, across their requests. */
type HookState = {
  meshes: Meshes;
  /** Connects the meshes if the server deferred it. */
  connect: () => void;
  /** Why this session is on no mesh (meshesOrExplain), told to the SessionStart hook. */
  problem: string | null;
  log: Log;
  /** The wait of each Claude Code's wake hook (by its pid; "?" when the hook could not tell), to
   *  end when a newer one of the same Claude Code comes. */
  waits: Map<string, AbortController>;
};

/** Answers one request of a `claudemesh hook` process of this session; `gone` aborts when that
 *  process hangs up. */
async function handleHook(req: IpcRequest, gone: AbortSignal, { meshes, connect, problem, log, waits }: HookState): Promise<unknown> {
  // Hooks run only in a real Claude Code session (a health check runs none): all but SessionEnd's
  // use the broker, or wait for what it pushes.
  if (req.op !== "offline") connect();
  switch (req.op) {
    case "pending": {
      // Each open ask is reminded of once (the mark is saved with the asks: open-asks.ts).
      const asks = req.unremindedAsks ? meshes.openAsks(true) : [];
      const messages = meshes.unannounced().slice(0, req.limit ?? 50);
      // The hook injects what fits its batch (the same frameBatch, within what the refusals' note
      // leaves), then says `seen`: held from the wake hook (which a Stop starts at the same time)
      // meanwhile, as for `wait`. The refusals are told again until a hook says it printed them.
      const refusals = meshes.refusals();
      handOutBatch(meshes, messages, injectionBudget(refusals));
      return { messages, openAsks: asks, refusals };
    }
    case "seen": {
      meshes.reminded(req.reminded ?? []);
      const ids = new Set(req.ids);
      meshes.markSeen(meshes.pending().filter((m) => ids.has(m.messageId)), "hook");
      meshes.markPreviewed(req.previewed ?? []);
      meshes.refusalsSaid(Array.isArray(req.refused) ? req.refused.filter((r) => typeof r?.mesh === "string" && Number.isSafeInteger(r?.link) && Number.isSafeInteger(r?.through)) : []);
      return { ok: true };
    }
    case "wait": {
      // For the asyncRewake hook: the framed messages it prints wake Claude. It says `seen` once it
      // has printed them (those shown whole are then read, those cut short stay unread for
      // mesh_inbox); until then other hooks skip them, and if it dies first they are unread again.
      // Said, so that a session that is not woken can be told from one whose waiter never came.
      log.debug("a wait hook waits for the next message", { timeoutMs: req.timeoutMs, host: req.host ?? null });
      const wait = newWait(waits, req.host, log);
      const timeoutMs = Number.isFinite(req.timeoutMs) ? Math.min(Math.max(0, req.timeoutMs), WAKE_WAIT_MS) : 0;
      const ms = meshes.unannounced().length ? meshes.unannounced() : await nextMessages(meshes, timeoutMs, AbortSignal.any([gone, wait.replaced]));
      wait.done();
      // The hook was killed while it waited (Claude Code's exit, its timeout), or a newer one of its
      // Claude Code took over: nobody will print these.
      if (gone.aborted || wait.replaced.aborted) return {};
      // Refusals ride along with messages that wake the session anyway, never wake it alone: a
      // broker could refuse a push at will, each time Claude went idle.
      const refusals = meshes.refusals();
      const batch = handOutBatch(meshes, ms, injectionBudget(refusals));
      const note = batch.text ? hookRefusalNote(refusals) : "";
      return { ...batch, text: note ? `${batch.text}\n\n${note}` : batch.text, refused: note ? refusals : [] };
    }
    case "status":
      await Promise.allSettled(meshes.links.map((l) => l.hookStatus(req.status)));
      return { ok: true };
    case "peers": {
      const listed = meshes.listed();
      await Promise.all(listed.map((l) => l.firstAttempt(HOOK_CONNECT_WAIT_MS)));
      const out = await Promise.all(
        listed.map(async (l) => ({ mesh: meshes.named(l), state: l.state, peers: l.state === "open" ? (await l.peers().catch(() => [])).filter((p) => p.online && p.pubkey !== l.session.id.publicKey).map((p) => ({ name: p.displayName, status: p.status, summary: p.summary })) : [] })),
      );
      return { meshes: out, pending: meshes.pending().length, problem };
    }
    case "offline":
      meshes.close();
      return { ok: true };
  }
}

/** The batch a hook prints of `messages` (frameBatch): what it shows whole or cut short is held
 *  from the other hooks, mesh_ask and mesh_inbox until the hook says `seen`, or for HANDOUT_MS if
 *  it dies first. */
function handOutBatch(meshes: Meshes, messages: readonly Pending[], budget = MAX_INJECTION_CHARS): ReturnType<typeof frameBatch> {
  const batch = frameBatch(messages, budget);
  meshes.handOut([...batch.ids, ...batch.previewed], HANDOUT_MS);
  return batch;
}

/** Registers the wait of a wake hook of Claude Code `host`, ending the one that Claude Code's
 *  previous wake hook still holds: Claude Code starts one at every Stop and ends none at a new
 *  prompt, so without this a session kept one waiting process per turn for as long as each waits
 *  (days). `replaced` aborts when a newer one comes; `done()` unregisters it. */
function newWait(waits: Map<string, AbortController>, host: number | null | undefined, log: Log) {
  const key = typeof host === "number" ? String(host) : "?";
  const older = waits.get(key);
  if (older) log.debug("a newer wait hook of the same Claude Code replaces the waiting one", { host: key });
  older?.abort();
  const mine = new AbortController();
  waits.set(key, mine);
  return { replaced: mine.signal, done: () => void (waits.get(key) === mine && waits.delete(key)) };
}

/** The next messages to arrive, or none after `timeoutMs` or once `gone` aborts. */
function nextMessages(meshes: Meshes, timeoutMs: number, gone: AbortSignal): Promise<Pending[]> {
  return new Promise((resolve) => {
    const stop = () => {
      off();
      clearTimeout(timer);
      gone.removeEventListener("abort", hungUp);
    };
    const off = meshes.onMessage(() => {
      stop();
      // Let a burst arrive together.
      setTimeout(() => resolve(meshes.unannounced()), 50);
    });
    const hungUp = () => {
      stop();
      resolve([]);
    };
    const timer = setTimeout(hungUp, timeoutMs);
    gone.addEventListener("abort", hungUp);
  });
}
