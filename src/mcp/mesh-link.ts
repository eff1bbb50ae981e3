// One Claude Code session's presence in one mesh: its own session key (vouched for by the member
// key), a broker connection that reconnects forever, and the messages pushed to it that the model
// has not provably seen yet. A message is acked to the broker only when a tool returned it or a
// hook injected it; until then a restart or a dropped connection redelivers it. The parts by role:
// link-session.ts (keys and credentials), incoming.ts (what is pushed, until seen), outgoing.ts
// (resolving and sending), link-ask.ts and reply-waiters.ts (mesh_ask), link-memory.ts (what is
// saved with the replay memory), link-state.ts (whether the tools can use it), hook-status.ts (the
// hooks' status); this file wires them to the broker connection and holds its lifecycle.
import { BrokerClient, type ClientState } from "../client/client.ts";
import type { SessionHold } from "../client/client-options.ts";
import { hookStatus } from "../client/http.ts";
import { HookStatus } from "./hook-status.ts";
import type { Delivered, MeshSession } from "../client/mesh-session.ts";
import type { MeshEntry } from "../client/local/config-file.ts";
import type { SessionMemory } from "../client/local/session-memory.ts";
import { SESSION_TOUCH_MS } from "../client/local/session-keys.ts";
import { linkSession } from "./link-session.ts";
import { MeshOnDisk } from "../client/local/mesh-on-disk.ts";
import { resolveFor, sendFrom, type OutgoingDeps, type SendOptions } from "./outgoing.ts";
import { KeyCatchUp } from "./key-catchup.ts";
import { SeenWriter } from "./seen-writer.ts";
import { Incoming, MAX_PENDING } from "./incoming.ts";
import { ReplyWaiters } from "./reply-waiters.ts";
import { LinkMemory } from "./link-memory.ts";
import { askFrom, type AskOptions, type Asked } from "./link-ask.ts";
import { FIRST_CONNECT_WAIT_MS, failureText, notOpen } from "./link-state.ts";
import { MeshError } from "../protocol/errors.ts";
import { sessionName } from "../protocol/names.ts";
import { closedAsGone, closedAsRemoved, closedForGood } from "../client/removed.ts";
import { epochIsNew } from "../client/rollback-note.ts";
import { ConfigWrites } from "./config-writes.ts";
import { closedHere } from "./send-refusals.ts";
import { OpenReads } from "./open-reads.ts";
import type { Status } from "../protocol/fields.ts";
import type { PeerInfo, Results } from "../protocol/results.ts";
import type { Log } from "../log/log.ts";

export type Pending = Delivered & { mesh: string };

export type LinkOptions = {
  configDir: string;
  claudeSessionId: string;
  /** Session label: the project directory name, or one given at install. */
  label: string;
  cwd: string;
  hostname: string;
  log: Log;
  onMessage: (m: Pending) => void;
  /** Null if no hook holds this message, else a promise settled once none does (Meshes.heldByHook). */
  heldByHook?: (messageId: string) => Promise<void> | null;
  /** Which server of this Claude Code session holds it now (the session socket's, ipc.ts): of two
   *  servers of the session, the newest keeps it across a broker outage (ClientOptions). */
  sessionHold?: SessionHold;
  /** How the tools name this mesh among the session's others (Meshes.labelOf); its slug without. */
  meshLabel?: () => string;
};

/** How long a first mesh_inbox waits for a backlog the broker announced at connect. */
const BACKLOG_WAIT_MS = 1000;

export class MeshLink {
  readonly client: BrokerClient;
  readonly session: MeshSession;
  private readonly incoming: Incoming;
  private readonly outgoing: OutgoingDeps;
  private readonly replies = new ReplyWaiters<Pending>();
  state: ClientState = "connecting";
  /** Why the broker closed this connection for good (kicked, banned, replaced, ended), if it did. */
  closedFor: MeshError | null = null;
  /** The member is out of the mesh for good (it left, or was kicked or banned): the session's
   *  tools no longer count it among their meshes (Meshes.live). */
  gone = false;
  /** Why the latest attempt failed, while reconnecting: a socket that never opened (a refused
   *  certificate) or the broker's refusal of the hello (a clock skew). */
  lastFailure: MeshError | null = null;
  private started: Promise<void> | null = null;
  /** This mesh's entry as the config file holds it now. */
  private readonly disk: MeshOnDisk;
  /** Writes a new session key to disk (nothing for one read from there). */
  private readonly saveKey: () => void;
  /** Deletes the key again if this server made it (null for one read from disk). */
  private readonly removeKey: (() => void) | null;
  /** The replay file: this session's pairs and what `memory` keeps (session-memory.ts). */
  private readonly replayFile: SessionMemory;
  /** Marks the key and the replay file as used (pruneSessions keeps them), once a day. */
  private readonly touch: () => void;
  private touchTimer: ReturnType<typeof setInterval> | null = null;
  /** Settles when the first connect attempt has an outcome: open, failed (now reconnecting), or
   *  refused for good (closed). The client never returns to "connecting". */
  private readonly attempted = Promise.withResolvers<void>();
  private readonly seenWriter: SeenWriter;
  private readonly keyCatchUp: KeyCatchUp;
  private readonly config: ConfigWrites;
  /** The replies, senders and open questions saved with the replay memory (link-memory.ts). */
  readonly memory: LinkMemory;
  /** The hooks' status, said again at a connect when the broker did not take it, and a working
   *  status said again to a new presence (hook-status.ts). */
  private readonly hook: HookStatus;
  /** The tools' reads, ended with the connection they were asked on (open-reads.ts). */
  readonly reads = new OpenReads(() => this.state === "open", () => notOpen(this) ?? new MeshError("unavailable", `Not connected to mesh ${this.label} right now.`));

  constructor(
    readonly entry: MeshEntry,
    private readonly opts: LinkOptions,
  ) {
    this.disk = new MeshOnDisk(opts.configDir, entry, {
      moved: (from, to) => opts.log.warn("the mesh's broker URL changed in the config: connecting there", { mesh: entry.slug, from, to }),
      unreadable: (err) => opts.log.debug("config not read for the broker URL; keeping the last one", { mesh: entry.slug, err }),
    });
    const ls = linkSession(entry, { ...opts, removals: () => this.disk.read()?.removed });
    this.session = ls.session;
    this.replayFile = ls.memory;
    this.saveKey = () => {
      ls.save();
      // A new session's replay file, with what seeded it, goes with its key: a resume seeds it the
      // same way even if it never read anything. Not written, it is seeded as new at a resume.
      if (ls.remove) this.saveMemory();
    };
    this.removeKey = ls.remove && (() => (ls.remove!(), this.replayFile.remove()));
    this.touch = () => (ls.touch(), this.replayFile.touch());
    this.memory = new LinkMemory(ls.shownReplies, ls.replyTargets, ls.openAsks, () => this.seenWriter.changed());
    this.config = new ConfigWrites(opts.configDir, entry.meshId, opts.log.child({ mesh: entry.slug }));
    this.hook = new HookStatus(
      (status) => (this.state === "open" && this.client.ack ? hookStatus(this.client.brokerBase, this.client.ack.hookToken, status) : null),
      (status, err) => opts.log.info("hook status not passed on: said again at the next connect", { mesh: entry.slug, status, err }),
    );
    this.keyCatchUp = new KeyCatchUp({
      entry: () => this.disk.read() ?? this.entry,
      epochs: () => ({ mine: this.session.currentKey()?.epoch ?? 0, mesh: this.client.ack?.mesh.keyEpoch ?? 0 }),
      save: (keys) => this.config.saveKeys(keys),
      applied: (keys) => (this.session.learnKeys(keys), this.refreshKeys(), this.incoming.reopenSealed()),
      where: { sessionId: `${opts.claudeSessionId}-keys`, pid: process.pid, cwd: opts.cwd, hostname: opts.hostname },
      log: opts.log,
    });
    this.client = new BrokerClient({
      url: () => this.disk.brokerUrl(),
      credentials: ls.credentials,
      where: { sessionId: opts.claudeSessionId, pid: process.pid, cwd: opts.cwd, hostname: opts.hostname, displayName: sessionName(entry.displayName, opts.label) },
      reconnect: true,
      // Claude Code may start this server before the broker is up (a laptop waking, a VPS
      // rebooting): keep trying with the backoff rather than leave the mesh dead for the session.
      firstConnect: "retry",
      ...(opts.sessionHold ? { sessionHold: opts.sessionHold } : {}),
      onMessage: (m) => this.incoming.receive(m), // pull gives it a fetch's messages too, without a ring
      onState: (s, d) => {
        this.state = s;
        if (s !== "closed") this.noteFailure(d.failure ?? null, d.reason);
        if (s === "closed") this.closedFor ??= closedForGood(entry.slug, d.code, d.reason);
        if (s === "closed" && closedAsGone(d.code, d.reason)) this.gone = true;
        if (s === "closed" && closedAsRemoved(d.code, d.reason)) this.config.recordRemoved();
        // A tool's read in flight would wait for a reconnect: it answers "not connected" now.
        if (s !== "open") this.reads.left();
        if (s !== "connecting") this.attempted.resolve();
        if (s === "open") void this.keyCatchUp.run();
        if (s === "open") this.touch();
        if (s === "open") this.noteEpoch();
        if (s === "open") this.hook.opened(this.client.ack?.reattached ?? true);
        opts.log.info("mesh connection", { mesh: entry.slug, state: s, code: d.code, reason: d.reason, failure: d.failure?.message });
      },
    });
    this.seenWriter = new SeenWriter(
      this.session,
      () => {
        this.replayFile.save(this.memory.toJson());
        opts.log.debug("replay memory saved", { mesh: entry.slug });
        this.replayFile.share(this.notShared);
      },
      (ids) => this.client.ackMessages(ids),
      (err) => opts.log.warn("replay memory not saved", { mesh: entry.slug, err }),
    );
    this.outgoing = { label: () => this.label, choice: () => (this.label === this.slug ? this.slug : this.meshId), session: this.session, client: this.client, peers: () => this.peers(), read: (r) => this.reads.run(r), refreshKeys: () => void this.refreshKeys() };
    this.incoming = new Incoming({
      slug: entry.slug,
      label: () => this.label,
      session: this.session,
      client: this.client,
      seenWriter: this.seenWriter,
      config: this.config,
      replies: this.replies,
      refreshKeys: () => this.refreshKeys(),
      onMessage: opts.onMessage,
      log: opts.log,
    });
  }

  get slug(): string {
    return this.entry.slug;
  }

  /** The mesh as the tools name it: its slug, or more when another mesh of the session has it
   *  too ("ops on 127.0.0.1:7900", client/mesh-label.ts). */
  get label(): string {
    return this.opts.meshLabel?.() ?? this.slug;
  }

  /** The mesh's id: what tells two joined meshes apart (their slugs may be the same, on two brokers). */
  get meshId(): string {
    return this.entry.meshId;
  }

  /** Connects, retrying with backoff until the broker answers (the tools report the state
   *  meanwhile); settles when connected, or when the broker refuses for good (logged). Only the
   *  first call connects; later ones return its promise. */
  start(): Promise<void> {
    // The key is saved before the first hello makes it a peer. A key that cannot be saved is not
    // used (a restart would come back as another peer): the mesh is closed, and the tools say why.
    this.touchTimer ??= setInterval(this.touch, SESSION_TOUCH_MS).unref();
    return (this.started ??= Promise.try(() => this.saveKey()).then(
      () =>
        this.client.connect().then(
          () => {},
          (err: unknown) => this.opts.log.warn("mesh connect failed", { mesh: this.slug, err }),
        ),
      (err: unknown) => {
        this.opts.log.error("saving the session key failed", { mesh: this.slug, err });
        this.closedFor = new MeshError("unavailable", `This session's key for mesh ${this.slug} could not be saved (${(err as Error).message}), so it does not connect. Fix ${this.opts.configDir}/sessions, then restart the session.`);
        this.client.close();
        this.attempted.resolve();
      },
    ));
  }

  /** For reading the inbox: waits (at most FIRST_CONNECT_WAIT_MS) for the first connect, then, if
   *  the broker said messages were waiting and none has arrived yet, up to BACKLOG_WAIT_MS for the
   *  first of them, so a first mesh_inbox after a restart does not answer "No new messages" just
   *  before they come. Never throws: the inbox shows what has arrived. */
  async ready(): Promise<void> {
    await this.firstAttempt(FIRST_CONNECT_WAIT_MS);
    if (!(this.client.ack?.pending ?? 0) || this.incoming.arrived > 0) return;
    for (const end = Date.now() + BACKLOG_WAIT_MS; this.incoming.arrived === 0 && Date.now() < end; ) await Bun.sleep(20);
  }

  /** Starts the connect if nothing has yet, and waits for its first attempt's outcome, at most
   *  `timeoutMs`; at once when it is already known. The caller then reads `state`. */
  async firstAttempt(timeoutMs: number): Promise<void> {
    void this.start();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.attempted.promise, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }

  /** Resolves once the config writes and replay shares begun so far are done: the server waits
   *  for them before it exits. */
  async written(): Promise<void> {
    await Promise.all([this.config.written(), this.replayFile.shared()]);
  }

  /** The replay file written now, for a new key; a failure is logged, as for SeenWriter's saves. */
  private saveMemory(): void {
    try {
      this.replayFile.save(this.memory.toJson());
    } catch (err) {
      this.opts.log.warn("replay memory not saved", { mesh: this.slug, err });
    }
  }

  private readonly notShared = (err: unknown) => this.opts.log.warn("replay memory not added to the machine's (a new session would not know what this one read)", { mesh: this.slug, err });

  /** Logs that the broker runs from a restored backup: its epoch is not the one this machine's CLI
   *  last saw (rollback-note.ts). The CLI records the epoch and tells its user; a session only logs,
   *  so that each new session does not repeat an old restore to the model. */
  private noteEpoch(): void {
    const entry = this.disk.read();
    if (entry?.brokerEpoch !== undefined && epochIsNew(entry, this.client.ack?.epoch)) this.opts.log.warn("the broker's database changed since this machine's CLI last connected: it runs from a restored backup, and messages or membership changes after that backup may be gone", { mesh: this.slug });
  }

  /** Takes in the keys the config on disk holds: after `claudemesh rekey` in a terminal, the
   *  owner's running session must post under (and hand out) the new epoch, which no message brings
   *  it (a rotation is sent to the other members). Returns the entry read. */
  private refreshKeys(): MeshEntry | undefined {
    const entry = this.disk.read();
    if (entry) this.session.learnKeys(entry.meshKeys);
    return entry;
  }

  /** For an explicit read (mesh_inbox): tries again the key requests not answered (Incoming), and claims up to `limit` more
   *  queued messages, gated ones included (`fetch` ignores the gate, protocol §5.6), pending like pushes (acked once shown).
   *  Resolves to how many more the broker holds; never throws. */
  async pull(limit: number): Promise<number> {
    if (this.state === "open") this.incoming.retryKeyRequests();
    const room = Math.min(limit, MAX_PENDING - this.incoming.held);
    if (this.state !== "open" || room <= 0) return 0;
    // What a fetch hands out stays claimed by the connection that asked until acked, and a fetch
    // cut by a drop is asked again on the next connection: its messages are taken in whenever it
    // answers, even after the tool stopped waiting for it (open-reads.ts).
    const taken = this.client.request("fetch", { limit: room }).then((r) => {
      for (const m of r.messages) this.incoming.receive(m, false);
      return r.remaining;
    });
    const remaining = await this.reads.run(() => taken).catch((err: unknown) => void this.opts.log.info("fetch failed", { mesh: this.slug, err }));
    return remaining ?? 0;
  }

  /** How many pushes wait for a mesh key this session does not have yet (Incoming.waitingForKeys). */
  readonly waitingForKeys = () => this.incoming.waitingForKeys;

  /** Pushes dropped for failing verification that the model was not told of yet. */
  get refused(): number {
    return this.incoming.refused;
  }

  /** How many pushes were dropped for failing verification since start (a running total). */
  get refusedTotal(): number {
    return this.incoming.refusedTotal;
  }

  /** Keeps why the latest attempt failed (null once connected). The broker refusing the hello
   *  (its close reason is the refusal's code) is written to stderr once, when it starts or its
   *  cause changes, not at every retry: the tools say it too, but only when called. */
  private noteFailure(failure: MeshError | null, reason: string | undefined): void {
    if (failure && failure.code === reason && failure.code !== this.lastFailure?.code) {
      this.opts.log.warn("the broker refuses this connection; retrying", { mesh: this.slug, code: failure.code, why: failureText(failure) });
    }
    this.lastFailure = failure;
  }

  /** The model was told of them up to running total `through` (by mesh_inbox, or a hook). */
  refusalsSaid(through: number): void {
    this.incoming.refusalsSaid(through);
  }

  /** Messages not yet seen, oldest first (does not mark them seen). */
  peek(): Pending[] {
    return [...this.incoming.pending.values()];
  }

  /** Marks messages seen (Incoming.markSeen): acked once the replay file holds them. */
  markSeen(ids: readonly string[]): void {
    this.incoming.markSeen(ids);
  }

  async peers(): Promise<PeerInfo[]> {
    return (await this.reads.run(() => this.client.request("list_peers", {}))).peers;
  }

  /** The target the model typed, resolved to a key a DM may be encrypted to (outgoing.ts). */
  resolve(input: string): Promise<{ target: string; name: string }> {
    return resolveFor(this.outgoing, input);
  }

  /** Sends `body` to a resolved target (outgoing.ts); `clientMessageId` only to retry a send whose
   *  outcome was unknown (SendError). */
  send(target: string, body: string, opts: SendOptions = {}): Promise<Results["send"]> {
    return sendFrom(this.outgoing, target, body, opts);
  }

  /** mesh_ask: sends a question and returns its reply, or that it was shown already (link-ask.ts). */
  ask(target: string, question: string, opts: AskOptions): Promise<Asked> {
    const pending = this.incoming.pending;
    return askFrom({ send: (t, b, o) => this.send(t, b, o), replies: this.replies, pending, heldByHook: this.opts.heldByHook ?? (() => null), shownReply: (q) => this.memory.shownReply(q) }, target, question, opts);
  }

  /** A reply that ask returned: seen (acked once saved) if the tool result carrying it goes to the
   *  model, otherwise pending like any message. */
  settleReply(m: Pending, delivered: boolean): void {
    if (delivered) this.seenWriter.record([m], [m.messageId]);
    else this.incoming.enqueue(m);
  }

  /** mesh_status. A `working` the broker took is said again to a new presence (hook-status.ts). */
  setStatus(status: Status, summary?: string): Promise<unknown> {
    const set = this.client.request("set_status", { status }).then((r) => (this.hook.noted(r.status), r));
    return Promise.all([set, summary !== undefined ? this.client.request("set_summary", { summary }) : null]);
  }

  /** A status from a Claude Code hook: sent as the hook route's automatic change, so a dnd the
   *  session set (mesh_status) stays. One not passed on (not connected, or refused) is said again
   *  at the next connect. Never rejects. */
  hookStatus(status: Status): Promise<void> {
    return this.hook.say(status);
  }

  setSummary(summary: string): Promise<unknown> {
    return this.client.request("set_summary", { summary });
  }

  /** For a server that was never used: if this session began here (its key is new) and holds no
   *  message addressed to its key alone, ends it at the broker (waiting at most `timeoutMs`) and
   *  deletes its key, so that a health check that connected leaves no peer and no file behind.
   *  What it holds that was addressed to its member (given it at its hello, or pushed to it as the
   *  member's only session) the broker keeps for the member's next session (protocol §5.1). */
  async forgetIfNew(timeoutMs: number): Promise<void> {
    // Not connected: no session to end, or one a hello in flight may have begun; keep the key.
    if (!this.removeKey || this.state !== "open" || this.incoming.holdsOwn(this.session.id.publicKey)) return;
    const ended = await Promise.race([this.client.request("session_end", {}).then(() => true, () => false), Bun.sleep(timeoutMs).then(() => false)]);
    if (ended) this.removeKey();
  }

  /** Saves the replay memory, adds it to the machine's (blocking: the process may exit next) and
   *  sends the acks waiting for it, then disconnects for good. */
  close(): void {
    this.closedFor ??= closedHere(this.slug);
    this.seenWriter.flush();
    this.replayFile.shareNow(this.notShared);
    this.touch();
    if (this.touchTimer) clearInterval(this.touchTimer);
    this.client.close();
  }
}
