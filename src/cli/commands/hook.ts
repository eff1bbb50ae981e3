// claudemesh hook <event>: Claude Code hooks. Each reads the hook JSON on stdin, talks to this
// session's MCP server over its local socket with short timeouts, prints valid hook output, and
// exits 0 — never hanging on a dead broker, never printing a secret. `wait` is the asyncRewake
// hook: it blocks until a message arrives and exits 2 with it on stderr, which wakes an idle Claude.
import { clientEnv, processEnv } from "../../config/client.ts";
import { askIpc, findSocket, nextServer, runningServer } from "../../mcp/ipc.ts";
import { hookHostPid, processWatch } from "../../mcp/process-tree.ts";
import { WAKE_WAIT_MS } from "../../mcp/wake-wait.ts";
import { loadConfig } from "../../client/local/config-file.ts";
import { frameBatch, MAX_INJECTION_CHARS } from "../../mcp/framing.ts";
import { hookRefusalNote, injectionBudget, type Refusal } from "../../mcp/refusal-note.ts";
import { fitInBudget } from "../../mcp/text-budget.ts";
import { oneLine, quoted, quotedName } from "../../client/untrusted-text.ts";
import type { Pending } from "../../mcp/mesh-link.ts";
import type { OpenAsk } from "../../mcp/open-asks.ts";
import { stdoutFlushed, writeStdout } from "../output.ts";
import { HOOK_EVENTS } from "../claude-code/hook-events.ts";

type HookInput = { session_id?: string; cwd?: string; hook_event_name?: string; stop_hook_active?: boolean; reason?: string };
type Event = (typeof HOOK_EVENTS)[number];

/** Most time any hook but `wait` may take; Claude Code's own timeouts are far longer. */
const BUDGET_MS = 2500;
/** How long SessionStart waits for this session's MCP server to start listening, when a mesh is
 *  joined (Claude Code starts the server beside the hook). */
const SERVER_WAIT_MS = 1000;
/** How often the waiting asyncRewake hook checks that its Claude Code is still there. Its server
 *  ends with Claude Code and so ends the wait (within a second, seen with the real CLI); this is
 *  for a server that outlives it (the session open twice), which would hold the hook for days. */
const HOST_CHECK_MS = 5000;

async function readInput(): Promise<HookInput> {
  const text = await Promise.race([new Response(Bun.stdin.stream()).text(), new Promise<string>((r) => setTimeout(() => r(""), 1000))]);
  try {
    return parseInput(JSON.parse(text));
  } catch {
    return {};
  }
}

/** Only the fields of the hook JSON that have the type claudemesh reads; anything else (`null`,
 *  an array, a number as session id) is dropped, so unusable input means "no input", never a crash
 *  (a non-string session id used to reach the socket path's hash). */
function parseInput(v: unknown): HookInput {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return {};
  const o = v as Record<string, unknown>;
  const str = (x: unknown) => (typeof x === "string" && x ? x : undefined);
  return { session_id: str(o.session_id), cwd: str(o.cwd), hook_event_name: str(o.hook_event_name), stop_hook_active: o.stop_hook_active === true, reason: str(o.reason) };
}

/** Writes the hook's answer; resolves false when stdout did not take it (nothing is then "seen"). */
const out = (obj: unknown): Promise<boolean> => writeStdout(JSON.stringify(obj) + "\n");
const context = (hookEventName: string, additionalContext: string) => out(additionalContext ? { hookSpecificOutput: { hookEventName, additionalContext } } : {});

/** Injects waiting messages; with `remindAsks`, also reminds of peers' unanswered questions —
 *  each once (the server remembers which were reminded): Claude Code continues the turn after a
 *  Stop hook's additionalContext, so a reminder repeated at every Stop would loop the model. Tells
 *  of pushes refused since the model was last told (refusal-note.ts), once; `refusalsAlone`: also
 *  when there is nothing else to inject (not at Stop, whose injection continues the turn: a broker
 *  could refuse a push at every Stop to keep the session busy). */
async function deliver(sock: string, hookEventName: string, opts: { remindAsks: boolean; refusalsAlone: boolean }) {
  const p = await askIpc<{ messages: Pending[]; openAsks?: OpenAsk[]; refusals?: Refusal[] }>(sock, { op: "pending", limit: 50, unremindedAsks: opts.remindAsks }, 1500);
  if (!p) return out({});
  const refusals = p.refusals ?? [];
  // Framed within what the note leaves, as the server did when it held the batch for this hook.
  const budget = injectionBudget(refusals);
  const batch = frameBatch(p.messages, budget);
  // The reminder gets what the messages and the note left of the budget (and the "\n\n" between).
  const reminder = askReminder(opts.remindAsks ? (p.openAsks ?? []) : [], budget - (batch.text ? batch.text.length + 2 : 0));
  const note = opts.refusalsAlone || batch.text || reminder.text ? hookRefusalNote(refusals) : "";
  const told = note ? refusals : [];
  // Confirmed only once written: a write that failed leaves the messages unread, as a kill would.
  if (!(await context(hookEventName, [batch.text, reminder.text, note].filter(Boolean).join("\n\n")))) return;
  if (batch.ids.length || batch.previewed.length || reminder.shown.length || told.length) await askIpc(sock, { op: "seen", ids: batch.ids, previewed: batch.previewed, reminded: reminder.shown, refused: told }, 1000);
}

/** The reminder of open questions, oldest first, within `budget` characters. `shown`: the ids it
 *  lists, the only ones that count as reminded; the others are counted in one line and listed by
 *  a later reminder. */
function askReminder(asks: readonly OpenAsk[], budget: number): { text: string; shown: string[] } {
  if (!asks.length) return { text: "", shown: [] };
  const more = (n: number) => `(${n} more unanswered question${n === 1 ? "" : "s"} from peers, not listed here: a reminder at the end of a later turn lists them.)`;
  const reserve = more(asks.length).length + 1; // room for that line whatever remains unlisted
  const head = "Unanswered questions from peers (answer with mesh_reply):";
  const line = (a: OpenAsk) => `- peer ${quotedName(a.from.name, 80)} asked (id ${a.messageId}): ${oneLine(a.body, 200)}`;
  // The lines follow the head and its newline; the "more" line needs room unless every ask is listed.
  const fit = fitInBudget(asks, line, budget - head.length - 1, { gap: 1, reserve: (n) => (n < asks.length ? reserve : 0) });
  const shown = fit.taken.map((a) => a.messageId);
  const rest = asks.length - shown.length;
  if (!shown.length) {
    const count = `(${rest} unanswered question${rest === 1 ? "" : "s"} from peers: a reminder at the end of a later turn lists them.)`;
    return { text: count.length <= budget ? count : "", shown };
  }
  return { text: [head, ...fit.texts, ...(rest ? [more(rest)] : [])].join("\n"), shown };
}

type PeersAnswer = { meshes: { mesh: string; state: string; peers: { name: string; status: string; summary: string }[] }[]; pending: number; problem?: string | null };

/** The SessionStart context: each mesh and the peers online on it, within `budget` characters
 *  (it grows with the peers, and Claude Code drops a context over 10,000). Peers that do not fit
 *  are counted, not listed; the unread count is always kept. */
export function peersContext(r: PeersAnswer, budget = MAX_INJECTION_CHARS): string {
  const unread = r.pending ? ` ${r.pending} unread message(s): call mesh_inbox.` : "";
  const more = (n: number, any: boolean) => (n ? `${any ? "; " : ""}and ${n} more (mesh_peers lists them)` : "");
  const head = (m: PeersAnswer["meshes"][number]) => `mesh ${oneLine(m.mesh, 120)}: ${m.state !== "open" ? `connecting (${oneLine(m.state, 20)})` : m.peers.length ? `${m.peers.length} peer(s) online: ` : "no other peer online"}`;
  // What every mesh's line needs whatever fits: its head and the longest "and N more".
  let left = budget - "claudemesh: this session is a peer on .".length - unread.length - r.meshes.reduce((n, m) => n + head(m).length + more(m.peers.length, true).length + 3, 0);
  const lines = r.meshes.map((m) => {
    if (m.state !== "open") return head(m);
    const entry = (p: PeersAnswer["meshes"][number]["peers"][number]) => `${quotedName(p.name, 80)} (${oneLine(p.status, 20)}${p.summary ? `, ${quoted(p.summary, 60)}` : ""})`;
    const fit = fitInBudget(m.peers, entry, left, { gap: 2 });
    left -= fit.used;
    return head(m) + fit.texts.join("; ") + more(m.peers.length - fit.taken.length, fit.taken.length > 0);
  });
  let text = `claudemesh: this session is a peer on ${lines.join(" · ")}.`;
  // Only a machine in very many meshes gets here: the meshes' own lines did not fit.
  if (text.length + unread.length > budget) text = `${text.slice(0, budget - unread.length - 40)}… (mesh_peers lists the rest).`;
  return text + unread;
}

/** The meshes config.json lists (their slugs), or null when it cannot be read (doctor says why;
 *  its error is not repeated here, so nothing from the file reaches the model). */
function joinedMeshes(configDir: string): string[] | null {
  try {
    return loadConfig(configDir).meshes.map((m) => m.slug);
  } catch {
    return null;
  }
}

/** SessionStart's context when no claudemesh MCP server answers for this session: a mesh is joined
 *  (or the config cannot be read), so the model is told why it has no mesh context and that
 *  `claudemesh doctor` finds out; nothing when no mesh is joined, so a project that does not use
 *  claudemesh is not told about it. */
function noServerContext(joined: readonly string[] | null): string {
  const fix = "the user can run `claudemesh doctor` in a terminal to see why";
  if (joined === null) return `claudemesh: its config cannot be read and no claudemesh MCP server answers for this session, so this session is on no mesh; ${fix}.`;
  if (joined.length === 0) return "";
  const names = joined.slice(0, 5).map((m) => oneLine(m, 48)).join(", ") + (joined.length > 5 ? ` and ${joined.length - 5} more` : "");
  return `claudemesh: this machine has joined ${joined.length === 1 ? "mesh" : "meshes"} ${names}, but no claudemesh MCP server answers for this session, so no peers are listed here and peer messages do not reach it. If the mesh_* tools are listed, the server started late and works; otherwise ${fix}.`;
}

/** SessionStart: who is on each mesh (peersContext), why the session is on no mesh (the server's
 *  `problem`, or no server: noServerContext), or nothing when no mesh is joined. `deadline`: when
 *  the hook's budget ends. */
async function sessionStart(configDir: string, sessionId: string | null | undefined, deadline: number): Promise<void> {
  const joined = joinedMeshes(configDir);
  const sock = await runningServer(configDir, sessionId, joined?.length === 0 ? 0 : SERVER_WAIT_MS);
  if (!sock) return void (await context("SessionStart", noServerContext(joined)));
  // A server that answers but is slow (its first connect) gets what is left of the budget.
  const r = await askIpc<PeersAnswer>(sock, { op: "peers" }, Math.max(0, Math.min(2000, deadline - Date.now() - 200)));
  if (r?.problem) return void (await context("SessionStart", r.problem));
  await context("SessionStart", r && r.meshes.length > 0 ? peersContext(r) : "");
}

/** Where a hook finds its session's server: the config directory, and the session id. */
type Session = { configDir: string; id: string | null | undefined };

async function handle(event: Exclude<Event, "session-start">, input: HookInput, sock: string, session: Session): Promise<number> {
  switch (event) {
    case "user-prompt-submit":
      await askIpc(sock, { op: "status", status: "working" }, 800);
      await deliver(sock, "UserPromptSubmit", { remindAsks: false, refusalsAlone: true });
      return 0;
    case "stop":
      await askIpc(sock, { op: "status", status: "idle" }, 800);
      // stop_hook_active: this Stop follows a continuation a Stop hook caused; no new reminder then.
      await deliver(sock, "Stop", { remindAsks: !input.stop_hook_active, refusalsAlone: false });
      return 0;
    case "session-end":
      // /clear and /resume end the conversation, not the process: Claude Code keeps this MCP
      // server (it only changes the session id), so the session stays on its meshes. On a real
      // exit Claude Code closes the server's stdin anyway; `offline` just says so to peers sooner.
      if (input.reason !== "clear" && input.reason !== "resume") await askIpc(sock, { op: "offline" }, 800);
      out({});
      return 0;
    case "wait":
      return waitForMessage(session);
  }
}

type WaitAnswer = { text: string; ids: string[]; previewed: string[]; refused?: Refusal[] };

/** The asyncRewake hook: waits (up to WAKE_WAIT_MS, days: in practice while its session is idle)
 *  for a message and prints it, which wakes the idle session (exit 2). It ends quietly (exit 0)
 *  when a newer wake hook of its Claude Code takes its place (the server answers it with nothing)
 *  and when its Claude Code is gone: Claude Code starts one at every Stop and ends none at a new
 *  prompt, and one killed (or 2.1.197 at /exit) leaves them running. When its server goes away
 *  meanwhile (`/mcp` replaces it; after a crash, which Claude Code does not restart it from, the
 *  user's `/mcp`), the session is still idle and nothing else would wake it until its next Stop:
 *  it waits on the session's next server, for what is left of the wait. No server at the Stop:
 *  nothing to wait for (claudemesh is off in this session), it ends at once. */
async function waitForMessage(session: Session): Promise<number> {
  const end = Date.now() + WAKE_WAIT_MS;
  const host = hookHostPid();
  const stay = host === null ? () => true : processWatch(host);
  const hostGone = new AbortController();
  const check = setInterval(() => stay() || hostGone.abort(), HOST_CHECK_MS);
  try {
    let sock = await runningServer(session.configDir, session.id, 0);
    for (; sock && !hostGone.signal.aborted; sock = await nextServer(session.configDir, session.id, end, stay)) {
      const left = Math.max(0, end - Date.now());
      const r = await askIpc<WaitAnswer>(sock, { op: "wait", timeoutMs: left, host }, left + 5000, hostGone.signal);
      if (r === null) continue; // gone before it answered (or it did not answer by the end)
      if (!r.text) return 0; // the wait ended with nothing: its time was up, or a newer hook took over
      return await showMessages(sock, r);
    }
    return 0;
  } finally {
    clearInterval(check);
  }
}

/** Prints what woke the session and confirms it: exit 2, or 0 when it could not be printed. */
async function showMessages(sock: string, r: WaitAnswer): Promise<number> {
  // Printed first, then confirmed: killed in between, the messages come back unread (shown twice
  // at worst) instead of counting as read by a session that never got them.
  const written = await new Promise<boolean>((done) => process.stderr.write(r.text + "\n", (err) => done(!err)));
  if (!written) return 0;
  await askIpc(sock, { op: "seen", ids: r.ids, previewed: r.previewed, refused: r.refused ?? [] }, 1000);
  return 2;
}

export async function run(args: { event: string }): Promise<void> {
  const event = args.event as Event;
  if (!HOOK_EVENTS.includes(event)) {
    process.stderr.write(`claudemesh hook: unknown event "${args.event}"; one of ${HOOK_EVENTS.join(", ")}.\n`);
    process.exit(2);
  }
  // A hook must never hold Claude up: whatever happens, finish within the budget.
  const deadline = Date.now() + BUDGET_MS;
  if (event !== "wait") setTimeout(() => process.exit(0), BUDGET_MS).unref();
  const env = clientEnv(processEnv());
  // `claude -p` and the Agent SDK wait for a running asyncRewake hook before they end: a wait for
  // the next message held every such run open for the whole wait. Nobody is there to wake; what
  // arrives stays unread for the next hook or mesh_inbox.
  if (event === "wait" && env.claudeHeadless) process.exit(0);
  const input = await readInput();
  if (event === "session-start") {
    await sessionStart(env.configDir, input.session_id ?? env.claudeSessionId, deadline).catch(() => out({}));
    await stdoutFlushed();
    process.exit(0);
  }
  const sock = await findSocket(env.configDir, input.session_id ?? env.claudeSessionId);
  if (!sock) {
    if (event !== "wait") await out({});
    process.exit(0);
  }
  const code = await handle(event, input, sock, { configDir: env.configDir, id: input.session_id ?? env.claudeSessionId }).catch(() => (event === "wait" ? 0 : (void out({}), 0)));
  // What was written reaches Claude Code before the exit (process.exit drops a pipe's backlog).
  await stdoutFlushed();
  process.exit(code);
}
