// `claudemesh mcp`: the MCP server Claude Code starts over stdio, one per session. stdout carries
// only JSON-RPC (every log goes to stderr). It declares the claude/channel capability and rings the
// doorbell (notifications/claude/channel) for each new message, but a message counts as delivered
// only when a tool returned it or a hook injected it; hooks reach this process over a local socket.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { loadConfig } from "../client/local/config-file.ts";
import type { Log } from "../log/log.ts";
import { VERSION } from "../version.ts";
import { Meshes } from "./meshes.ts";
import { INSTRUCTIONS, meshTools } from "./tools.ts";
import { channelMeta, frameBatch, frameMessage } from "./framing.ts";
import { parentSocketPath, serveIpc, socketPath, type IpcRequest } from "./ipc.ts";
import type { Pending } from "./mesh-link.ts";

/** `resumable`: see LinkOptions (false: the session ends when this server exits). */
export type McpOptions = { configDir: string; claudeSessionId: string; resumable: boolean; label: string; cwd: string; hostname: string; log: Log };

/** Longest an exiting server without a resumable session id waits for its brokers to confirm
 *  `session_end`. Claude Code's and the SDK's clients wait about 2 s after closing stdin before
 *  SIGTERM, and a health check (`claude mcp list`) waits for the exit: ending must fit before. */
export const END_SESSION_MS = 1500;

export async function runMcpServer(opts: McpOptions): Promise<void> {
  const cfg = loadConfig(opts.configDir);
  const meshes = new Meshes(cfg.meshes, opts);
  const mcp = new McpServer({ name: "claudemesh", version: VERSION }, { capabilities: { tools: {}, experimental: { "claude/channel": {} } }, instructions: INSTRUCTIONS });
  for (const t of meshTools(meshes)) mcp.registerTool(t.name, { description: t.description, inputSchema: t.inputSchema }, t.handler);

  // The doorbell: best effort, never the delivery guarantee.
  meshes.onMessage((m) => {
    mcp.server
      .notification({ method: "notifications/claude/channel", params: { content: frameMessage(m, "preview"), meta: channelMeta(m) } } as never)
      .catch((err) => opts.log.debug("channel notification failed", { err }));
  });

  // Hooks find this server by their session id; after /clear or /resume Claude Code gives them a
  // new one but keeps this process, so it also listens under its parent's (Claude Code's) pid.
  const reminded = new Set<string>();
  // Leaving (the SessionEnd hook, or this server's exit) saves the replay memory and disconnects;
  // without a resumable id it ends the session: nothing can come back as it.
  const offline = () => (opts.resumable ? meshes.close() : meshes.end(END_SESSION_MS));
  const handler = (req: IpcRequest) => handleHook(meshes, req, reminded, offline);
  const ipcs = [serveIpc(socketPath(opts.configDir, opts.claudeSessionId), handler), serveIpc(parentSocketPath(opts.configDir, process.ppid), handler)];
  const transport = new StdioServerTransport();
  let exiting = false;
  const shutdown = () => {
    if (exiting) return;
    exiting = true;
    for (const ipc of ipcs) ipc.close();
    // A session that can never be resumed would otherwise stay on the roster as a peer that
    // receives a copy of every broadcast and makes its name ambiguous (`claude mcp list` starts
    // one per run). The timer is a backstop: end() is bounded by its request timeout already.
    setTimeout(() => process.exit(0), END_SESSION_MS + 500).unref();
    void Promise.resolve(offline()).finally(() => process.exit(0));
  };
  transport.onclose = shutdown;
  process.stdin.on("end", shutdown);
  // Claude Code ends a session's server by closing stdin, then SIGTERM; both save the replay memory.
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
  await mcp.connect(transport);
  opts.log.info("mcp server ready", { meshes: meshes.links.map((l) => l.slug), session: opts.claudeSessionId });
  void meshes.start();
}

/** Requests from `claudemesh hook` processes of this session. */
/** `reminded`: ids of open asks the Stop hook already reminded of (each is reminded of once). */
/** `offline`: what the SessionEnd hook's request does (disconnect, or end a non-resumable session). */
async function handleHook(meshes: Meshes, req: IpcRequest, reminded: Set<string>, offline: () => unknown): Promise<unknown> {
  switch (req.op) {
    case "pending": {
      const open = meshes.openAsks();
      const openIds = new Set(open.map((a) => a.messageId));
      for (const id of reminded) if (!openIds.has(id)) reminded.delete(id); // answered or expired
      return { messages: meshes.unannounced().slice(0, req.limit ?? 50), openAsks: req.unremindedAsks ? open.filter((a) => !reminded.has(a.messageId)) : open };
    }
    case "seen": {
      for (const id of req.reminded ?? []) reminded.add(id);
      const ids = new Set(req.ids);
      meshes.markSeen(meshes.pending().filter((m) => ids.has(m.messageId)));
      meshes.markPreviewed(req.previewed ?? []);
      return { ok: true };
    }
    case "wait": {
      // For the asyncRewake hook: the framed messages it prints wake Claude, so those shown whole
      // count as seen; those shown cut short stay unread for mesh_inbox.
      const ms = meshes.unannounced().length ? meshes.unannounced() : await nextMessages(meshes, req.timeoutMs);
      const batch = frameBatch(ms);
      meshes.markSeen(ms.filter((m) => batch.ids.includes(m.messageId)));
      meshes.markPreviewed(batch.previewed);
      return batch;
    }
    case "status":
      await Promise.allSettled(meshes.links.map((l) => l.setStatus(req.status)));
      return { ok: true };
    case "peers": {
      const out = await Promise.all(
        meshes.links.map(async (l) => ({ mesh: l.slug, state: l.state, peers: l.state === "open" ? (await l.peers().catch(() => [])).filter((p) => p.online && p.pubkey !== l.session.id.publicKey).map((p) => ({ name: p.displayName, status: p.status, summary: p.summary })) : [] })),
      );
      return { meshes: out, pending: meshes.pending().length };
    }
    case "offline":
      await offline();
      return { ok: true };
  }
}

function nextMessages(meshes: Meshes, timeoutMs: number): Promise<Pending[]> {
  return new Promise((resolve) => {
    const off = meshes.onMessage(() => {
      off();
      clearTimeout(timer);
      // Let a burst arrive together.
      setTimeout(() => resolve(meshes.unannounced()), 50);
    });
    const timer = setTimeout(() => {
      off();
      resolve([]);
    }, timeoutMs);
  });
}
