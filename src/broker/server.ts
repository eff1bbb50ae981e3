// `claudemesh serve`: one Bun server on one port — Elysia for HTTP, the WebSocket protocol at
// /ws — plus the timers that keep presence honest and the queue tidy. createBroker() is what the
// CLI and the tests call; it returns once the port is bound.
import type { Server, ServerWebSocket } from "bun";
import type { BrokerConfig } from "../config/load.ts";
import type { Log } from "../log/log.ts";
import { MeshError } from "../protocol/errors.ts";
import { CloseCode } from "../protocol/close-codes.ts";
import { randomId } from "../crypto/hash.ts";
import type { Store } from "../store/types.ts";
import type { CheckpointerReport } from "../store/sqlite/checkpoint-protocol.ts";
import { VERSION } from "../version.ts";
import { DiskWatch } from "./disk-watch.ts";
import { FailureLog } from "./failure-log.ts";
import { ThrottledLog } from "./throttled-log.ts";
import { RefusalLog } from "./refusal-log.ts";
import { SendRefusalLog } from "./send-refusal-log.ts";
import { GroupCommit } from "./group-commit.ts";
import { Conn } from "./conn.ts";
import type { BrokerContext } from "./context.ts";
import { Hub } from "./hub.ts";
import { IdleCollector } from "./idle-collect.ts";
import { createMetrics } from "./metrics.ts";
import { CHANGE_BURST, CHANGE_RATE_PER_SEC, SESSION_START_BURST, SESSION_START_RATE_PER_SEC, STATUS_BURST, STATUS_RATE_PER_SEC } from "../protocol/limits.ts";
import { RateLimiter } from "./rate-limit.ts";
import { Settings } from "./settings.ts";
import { AuditVerifier } from "./audit-verifier.ts";
import { RosterCache } from "./roster.ts";
import { addressKey, proxyHint, requestIp } from "./client-ip.ts";
import { watchedAddresses } from "./address-output.ts";
import { createHttpApp } from "./http/app.ts";
import { Outbox } from "./ws/outbox.ts";
import { onBinary, onClose, onMessage, onOpen, onPing } from "./ws/session.ts";
import { pump } from "./delivery.ts";
import { startTimers } from "./timers.ts";
import { carryIn, carryOut, consumeCarried } from "./presence-carry.ts";
import { ensureOperatorToken, mintOperatorToken, OPERATOR_TOKEN_KEY } from "./operator.ts";
import { createDashboard } from "./dashboard-state.ts";
import { DASHBOARD_API_HEADERS, DOCS_HEADERS, secured } from "./dashboard-assets.ts";
import { errorResponse } from "./http/errors.ts";
import { closingIfUnread } from "./http/body.ts";
import { PathPrefix } from "./path-prefix.ts";
import { publicPathPrefix } from "../config/address.ts";
import { readTlsFiles, type CertificateFacts, type TlsMaterial } from "../config/tls-files.ts";
import { Listener } from "./listener.ts";
import { PortWatch } from "./port-watch.ts";
import { certificateLog, reloadCertificate, warnIfInvalid, type TlsFiles } from "./tls-reload.ts";

export type Broker = {
  /** Where it listens: https:// when it serves TLS itself (tlsCert), else http://. */
  readonly url: string;
  readonly port: number;
  /** The certificate served to new connections, or null without TLS. */
  readonly certificate: CertificateFacts | null;
  /** Reads `files` (tlsCert and tlsKey: those in force, or new paths a SIGHUP found in the config
   *  file) and serves them to new connections, keeping open ones; files that cannot be used leave
   *  the certificate in force. Logs either way. Returns whether `files` are in force now: false
   *  when they cannot be used, without TLS (nothing is read) and while stopping. */
  reloadTls(files: TlsFiles): boolean;
  readonly ctx: BrokerContext;
  /** Set on the first start on a data directory: the operator token, to show once. */
  readonly firstRunToken: string | null;
  /** Drain and stop: refuse new work, close sockets with 1001, flush writes, close the database. */
  stop(): Promise<void>;
  /** Settles when storage failed for good (Store.fatal): the broker refuses every write and its
   *  process should stop and exit non-zero, so that a supervisor restarts it. */
  readonly failed: Promise<Error>;
};

/** `ip`: the client's address; `slot`: what its connections count under (client-ip.ts addressKey). */
type WsData = { ip: string; slot: string; conn?: Conn };

/** Opens the embedded SQLite store named by the config (store-check.ts: a migration is logged, a
 *  damaged database refused) and starts a broker on it. */
export async function startBroker(config: BrokerConfig, log: Log, start: StartFacts = {}): Promise<Broker> {
  const { openForServe } = await import("./store-check.ts");
  const store = await openForServe(config, log, checkpointLogger(log));
  return createBroker({ config, store, log, start });
}

/** Logs what the background checkpointer reports: a failed checkpoint (retried after the next
 *  writes), a thread that could not run (the broker then checkpoints inside commits), a disk
 *  error (the store has failed: Broker.failed follows). */
export function checkpointLogger(log: Log): (report: CheckpointerReport) => void {
  return ({ kind, error }) => {
    if (kind === "failed") log.warn("background checkpoint failed; retrying after the next writes", { err: error });
    else if (kind === "stopped") log.error("checkpointer thread stopped; checkpointing inside commits from now on", { err: error });
    else log.error("background checkpoint met a disk error", { err: error });
  };
}

/** Replaces the operator token of the data directory's database and returns the new one
 *  (`claudemesh admin token`). Safe while a broker runs on it: SQLite serialises the write, and
 *  the running broker reads the token's hash on every check, so the old token stops at once. */
export async function rotateOperatorToken(config: BrokerConfig): Promise<string> {
  const { existingDatabase } = await import("./maintenance.ts");
  const { setFileMeta } = await import("../store/sqlite/data-file.ts");
  // Never create a database here: a mistyped --data-dir should say so, not mint a token for
  // nothing; one that is there but cannot be used says why (existingDatabase).
  const path = existingDatabase(config.dataDir, "token");
  // One row, written to the file directly: opening the store would migrate it and load its whole
  // queue behind the running broker's back.
  const { token, hash } = mintOperatorToken();
  const { removeSideFilesWeMade, sideFiles } = await import("./side-files.ts");
  const before = sideFiles(path);
  try {
    setFileMeta(path, OPERATOR_TOKEN_KEY, hash);
  } catch (err) {
    // A full disk leaves SQLite's -shm and -wal half made: the directory stays as it was.
    removeSideFilesWeMade(config.dataDir, path, before);
    const { tokenFailure } = await import("./admin-errors.ts");
    throw tokenFailure(err, config.dataDir, path);
  } finally {
    // As root: what SQLite made beside the database (when no broker had it open) is the owner's.
    const { giveDataDirToOwner } = await import("./data-dir-owner.ts");
    giveDataDirToOwner(config.dataDir);
  }
  return token;
}

/** Longest the drain waits for the writes in the group commit to be answered before it closes the
 *  connections (1001). */
const ANSWER_WAIT_MS = 2000;

/** `p`'s outcome, or "timeout" after `ms` (a rejection counts as settled). */
async function within<T>(p: Promise<T>, ms: number): Promise<T | "timeout" | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), Math.max(0, ms))));
  try {
    return await Promise.race([p.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Unsent bytes at which Bun closes a socket (its default, stated). */
const BACKPRESSURE_LIMIT = 16 * 1024 * 1024;

/** What `serve` knows of the start that the broker cannot: whether the previous broker of the data
 *  directory stopped cleanly (it removes its PID file; one left behind means it was killed or
 *  crashed). */
export type StartFacts = { previousStop?: "clean" | "unclean"; tls?: TlsMaterial };

export async function createBroker(deps: { config: BrokerConfig; store: Store; log: Log; now?: () => number; defaultMetrics?: boolean; idle?: IdleCollector; start?: StartFacts }): Promise<Broker> {
  // `config`: the start's settings, for what is fixed at start (the socket, the store, the timers'
  // pace); a value that a SIGHUP may change is read from ctx.config where it is used.
  const { config, store, log } = deps;
  const now = deps.now ?? Date.now;
  const metrics = createMetrics({ defaultMetrics: deps.defaultMetrics ?? true });
  const settings = new Settings(config);
  const ctx: BrokerContext = {
    get config() {
      return settings.current;
    },
    settings,
    store,
    log,
    failures: new FailureLog(log, config.dataDir),
    refusals: new RefusalLog(log, () => ctx.now()),
    sendRefusals: new SendRefusalLog(log, () => ctx.now()),
    metrics,
    now,
    bootId: randomId(6),
    idle: deps.idle ?? new IdleCollector(),
    draining: false,
    hub: new Hub(config.presenceGrace, (p) => {
      const meshId = p.identity.meshId;
      // list_peers shows an offline peer as stored (last seen, status, attestation), from the
      // roster: its row is read into it again once the write is in (the embedded store has made it
      // when this returns, and the read is answered before any frame is handled, so a peer that
      // asks on hearing peer_left already sees it), and again once it is flushed. Not stored: the
      // entry is dropped instead.
      const key = p.identity.pubkey;
      const saved = store.setPresence(meshId, key, { lastSeenAt: p.leftAt ?? now() });
      void ctx.roster.refresh(meshId, key);
      ctx.hub.emit(meshId, "peer_left", { pubkey: key, memberId: p.identity.memberId, displayName: p.identity.displayName, kind: p.identity.kind });
      saved.then(
        () => ctx.roster.refresh(meshId, key),
        (err) => (ctx.roster.invalidate(meshId), log.warn("saving last-seen failed", { err })),
      );
    }),
    roster: new RosterCache(store, () => ctx.config.messageTtl, now),
    sendLimiter: new RateLimiter(config.sendRate, config.sendBurst),
    changeLimiter: new RateLimiter(CHANGE_RATE_PER_SEC, CHANGE_BURST),
    statusLimiter: new RateLimiter(STATUS_RATE_PER_SEC, STATUS_BURST),
    sessionStarts: new RateLimiter(SESSION_START_RATE_PER_SEC, SESSION_START_BURST),
    frameAllowance: new RateLimiter(config.requestRate, config.requestBurst),
    audit: new AuditVerifier(store, () => ctx.now()),
    writes: new GroupCommit(store, { topicHistory: config.topicHistory, now, onBatch: (n) => metrics.commitBatchSize.set(n) }),
  };
  // The token buckets built from a rate and size: a new one keeps the buckets (RateLimiter.retune).
  settings.follow(["sendRate", "sendBurst"], (c) => ctx.sendLimiter.retune(c.sendRate, c.sendBurst));
  settings.follow(["requestRate", "requestBurst"], (c) => ctx.frameAllowance.retune(c.requestRate, c.requestBurst));
  DiskWatch.start(store, log, metrics.walFlushSeconds, config.dataDir);
  // Before the port opens: a client back from a restart finds its presence in its grace.
  const carried = await carryIn(ctx);
  const startedAt = performance.now(); // monotonic: uptime must not follow a stepped wall clock
  const dashboard = createDashboard(ctx, VERSION, startedAt);
  const app = createHttpApp(ctx, VERSION, startedAt, dashboard);
  // Connections and unsent output per client address (maxConnectionsPerIp, maxUnsentPerIp).
  const addresses = watchedAddresses(ctx);
  // Refused before any handshake, so without an identity; a flood is what this refuses.
  const refusedUpgrades = new ThrottledLog(log, "info", "connection refused before its hello", () => ctx.now());
  // Pushes paused on a congested socket (delivery.ts pushBudget), and frames paused on one
  // (Conn.congested), resume once its bytes moved on: to the kernel at the end of a turn (the
  // outbox), or out of Bun's buffer (the drain event).
  const resumePushes = (ws: ServerWebSocket<WsData>) => {
    const conn = ws.data.conn;
    conn?.outputMoved();
    if (!conn?.backlog || conn.pumping || !conn.ready) return;
    const presence = ctx.hub.get(conn.identity!.meshId, conn.identity!.pubkey);
    if (presence) void pump(ctx, conn, presence);
  };
  const outbox = new Outbox(resumePushes as (ws: ServerWebSocket<unknown>) => void);
  // Served at the root and under publicUrl's path, for proxies that pass it through.
  const prefix = new PathPrefix(publicPathPrefix(config.publicUrl));

  // An HTTP request; a body that no route read closes the connection after the answer.
  const handle = async (req: Request, headers?: Record<string, string>): Promise<Response> => secured(closingIfUnread(req, await app.handle(req)), headers);
  // The WebSocket settings the start log reports (reliability plan T26).
  const transport = {
    // The protocol limit (config.maxFrameBytes) is checked in JS with a clear error frame; this
    // transport cap only stops absurd frames before they are buffered (close 1009).
    maxPayloadLength: config.maxFrameBytes * 4,
    perMessageDeflate: false,
    // Pushes pause long before this (Conn.pushBudget); a client that lets even results and
    // events pile up this far is closed (its claims are released) instead of losing frames.
    backpressureLimit: BACKPRESSURE_LIMIT,
  };
  // The files `serve` read and checked before it claimed the data directory, or read now (tests).
  let tls = deps.start?.tls ?? (config.tlsCert ? readTlsFiles(config.tlsCert, config.tlsKey) : null);
  const listener = new Listener<WsData>((listen) => Bun.serve<WsData>({
    hostname: config.host,
    ...listen,
    // No cap of Bun's: it checks a declared length against it before fetch runs and answers an
    // empty 413, outside the error catalog. Bodies are bounded where they are read (http/body.ts:
    // 1 MiB, declared or counted, answered as 413 frame_too_large, the connection then closed),
    // and a body nothing read closes the connection after the answer (`handle`), so that Bun
    // does not go on reading and discarding it.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    fetch(received, srv) {
      ctx.idle.busy();
      // A Host header no URL can be made of (`a b`, `[zz`): Bun would answer with its debug page.
      // None at all is HTTP/1.0's right (a load balancer's `GET /health HTTP/1.0`), and Bun then
      // gives only the path: it is read against a placeholder host (routing never reads the host).
      const url = received.headers.has("host") ? URL.parse(received.url) : URL.parse(received.url, "http://localhost");
      if (!url) return secured(errorResponse(new MeshError("invalid_argument", "The request's Host header or path is not a valid URL.")));
      // A request-target never holds a fragment (RFC 9112 §3.2); Elysia matches no route with one
      // while a URL of it drops the fragment, which made a 405 that named the method just used.
      if (received.url.includes("#")) return secured(errorResponse(new MeshError("invalid_argument", "A request path may not contain '#': percent-encode it as %23.")));
      const routed = prefix.route(received, url);
      if ("answer" in routed) return secured(routed.answer);
      // `req` is `received` with the path under the prefix taken off; only `received` is what
      // Bun can upgrade or name the peer of (dashboard.server below asks about it for `req`).
      const { request: req, path } = routed;
      // Every HTTP response carries the dashboard's CSP and friends, but the API reference page's
      // (it ships an inline script), which gets a looser script and style policy.
      // Elysia routes /docs/ to the same page, whose relative URLs would then resolve to
      // /docs/docs/…: a read of it is sent back to ../docs, which stays under a proxy's path.
      if (path === "/docs/" && (req.method === "GET" || req.method === "HEAD")) return secured(new Response(null, { status: 308, headers: { location: "../docs" } }));
      if (path === "/docs" || path === "/docs/") return handle(req, DOCS_HEADERS);
      // The dashboard's answers are one signed-in member's: no cache may keep or share them.
      if (path.startsWith("/v1/dashboard/")) return handle(req, DASHBOARD_API_HEADERS);
      if (path !== "/ws") return handle(req);
      if (ctx.draining) return secured(errorResponse(new MeshError("unavailable", "The broker is shutting down.")));
      // Browsers send an Origin, and no client of this protocol is a web page: without this any
      // site its user visits could hold the address's connection slots (maxConnectionsPerIp).
      if (req.headers.has("origin")) {
        metrics.connectionsRejected.inc({ reason: "forbidden" });
        refusedUpgrades.note({ reason: "forbidden", origin: req.headers.get("origin")?.slice(0, 200) });
        return secured(errorResponse(new MeshError("forbidden", "WebSocket connections from web pages are refused: connect with a program that sends no Origin header.")));
      }
      // The limits in force: a SIGHUP's lower cap refuses new connections, and closes none.
      const ip = requestIp(srv.requestIP(received)?.address, req, ctx.config.trustedProxies);
      const slot = addressKey(ip);
      if (addresses.connections(slot) >= ctx.config.maxConnectionsPerIp) {
        metrics.connectionsRejected.inc({ reason: "too_many_connections" });
        refusedUpgrades.note({ reason: "too_many_connections", ip, limit: ctx.config.maxConnectionsPerIp, open: addresses.connections(slot), ...proxyHint(ip) });
        return secured(errorResponse(new MeshError("too_many_connections")));
      }
      if (srv.upgrade(received, { data: { ip, slot } })) return undefined;
      return secured(Response.json({ error: new MeshError("invalid_argument", "Expected a WebSocket upgrade.").toJSON() }, { status: 426 }));
    },
    // Anything fetch throws: without this, Bun answers with an HTML page of the source and cwd.
    error(err) {
      log.error("HTTP request failed", { err });
      return secured(errorResponse(new MeshError("internal")));
    },
    websocket: {
      ...transport,
      idleTimeout: 0,
      sendPings: false,
      closeOnBackpressureLimit: true,
      open(ws: ServerWebSocket<WsData>) {
        // Bun runs `open` inside srv.upgrade(), before fetch returns: the per-address check above
        // and this count happen in one turn, so upgrades arriving together cannot pass the cap
        // (pinned by test/integration/limits.test.ts).
        const address = addresses.open(ws.data.slot);
        const conn = new Conn(outbox.transport(ws as ServerWebSocket<unknown>, ws.data.ip), ctx.bootId, address);
        ws.data.conn = conn;
        onOpen(ctx, conn);
      },
      message(ws, message) {
        ctx.idle.busy();
        const conn = ws.data.conn!;
        if (typeof message !== "string") return onBinary(ctx, conn);
        onMessage(ctx, conn, message);
      },
      drain(ws) {
        ws.data.conn?.drained();
        resumePushes(ws);
      },
      ping(ws) {
        const conn = ws.data.conn;
        if (!conn) return;
        // A client's ping is a sign of life like any frame: a client downloading a backlog over a
        // slow link pings while it does (client.ts), since the broker's own ping waits behind it.
        conn.awaitingPong = false;
        onPing(ctx, conn);
      },
      pong(ws, data) {
        // Only an echo of one of the broker's pings proves the client read up to it (Conn.pong):
        // an unsolicited pong is allowed (RFC 6455) and ignored.
        ws.data.conn?.pong(data.toString("latin1"));
      },
      close(ws, code) {
        const conn = ws.data.conn;
        if (!conn) return;
        addresses.close(conn);
        void onClose(ctx, conn, code);
      },
    },
  }), config.port, tls);

  // With TLS, another process may join the port later (SO_REUSEPORT): looked for while it runs.
  const portWatch = tls ? PortWatch.start(listener.port, log, metrics.portSharers) : null;
  // Any of the listener's servers answers for any request's connection (measured on Bun 1.4.5).
  dashboard.server = prefix.informant(() => listener.current as Server<unknown>);
  if (carried) await consumeCarried(ctx);
  const firstRunToken = await ensureOperatorToken(store);
  const timers = startTimers(ctx);
  const port = listener.port;
  const url = `${tls ? "https" : "http"}://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}`;
  const websocket = { maxFrameBytes: config.maxFrameBytes, ...transport, helloTimeoutMs: config.helloTimeout };
  // Told apart: a restart after a kill -9 (previousStop unclean), how long the start took
  // (migration, quick_check, audit chains: ms since the process began) and what it found queued,
  // and the limits in force, which a client's refusals are measured against.
  const limits = { sendRate: config.sendRate, sendBurst: config.sendBurst, requestRate: config.requestRate, requestBurst: config.requestBurst, queueQuota: config.queueQuota, meshQueueQuota: config.meshQueueQuota, messageTtlMs: config.messageTtl };
  const queueEntries = await store.totalQueueDepth();
  log.info("broker listening", { url, version: VERSION, dataDir: config.dataDir, ...deps.start, startMs: Math.round(performance.now()), queueEntries, limits, synchronous: config.synchronous, storage: store.settings(), websocket, ...(tls ? { tls: certificateLog(config, tls.certificate) } : {}) });
  if (tls) warnIfInvalid(log, config, tls.certificate, now());

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      ctx.draining = true;
      portWatch?.stop();
      listener.stop(false);
      const deadline = performance.now() + ctx.config.drainTimeout;
      // No sweep starts from here on; one under way ends before the store closes (it deletes
      // expired entries and stores their notices in one transaction, then flushes it).
      const swept = timers.stop();
      // The writes already handed to the group commit are answered before the 1001 (new requests
      // are refused `unavailable` meanwhile): closed first, a client learnt that its sends were
      // stored only from their retry after its reconnect, and a one-shot command, which does not
      // reconnect, reported them failed. A disk that does not answer holds the close no longer
      // than ANSWER_WAIT_MS.
      await within(ctx.writes.drain().then(() => store.flushed()), Math.min(ANSWER_WAIT_MS, ctx.config.drainTimeout));
      await new Promise((r) => setImmediate(r)); // the answers' promise chains have queued their frames
      for (const c of [...ctx.hub.allConns()]) c.close(CloseCode.goingAway, "shutting down", "shutting_down");
      const flushed = Promise.all([swept, ctx.writes.drain()])
        .then(() => carryOut(ctx))
        .then(() => store.flushed())
        .catch((err: unknown) => log.error("final flush failed", { err }));
      if ((await within(flushed, deadline - performance.now())) === "timeout") log.warn("drain timed out; unflushed writes were not acknowledged");
      ctx.hub.stopTimers();
      dashboard.stop(); // ends the live-event streams, which count as pending requests
      // HTTP requests under way get their answers (a write refused after a failed flush says so,
      // instead of the connection dropping), within what is left of the drain timeout.
      while (listener.pendingRequests > 0 && performance.now() < deadline) await Bun.sleep(5);
      listener.stop(true);
      store.close();
      log.info("broker stopped");
    })());
  const failed = store.fatal.then((err) => {
    log.error("the database could not be flushed to disk: refusing all writes until a restart", { err });
    return err;
  });
  const reloadTls = (files: TlsFiles) => {
    if (!tls || ctx.draining) return false;
    const reloaded = reloadCertificate(listener, files, log, tls, ctx.now());
    tls = reloaded.tls;
    portWatch?.check();
    return reloaded.used;
  };
  return { url, port, ctx, firstRunToken, stop, failed, reloadTls, get certificate() { return tls?.certificate ?? null; } };
}
