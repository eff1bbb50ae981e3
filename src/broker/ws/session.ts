// The per-connection state machine: `hello` (only hello or session_hello accepted, within the
// hello timeout) → `ready` (requests) → `closed`. Frames of one connection are handled in arrival
// order; a send only holds the line until it is handed to the group commit.
import { MeshError } from "../../protocol/errors.ts";
import { CloseCode } from "../../protocol/close-codes.ts";
import { decodeClientFrame, frameSizeError, recoverHelloVersion, recoverRequestId } from "../../protocol/codec.ts";
import type { ClientFrame, ClientFrameOf, HelloFrame, RequestType, SessionHelloFrame } from "../../protocol/frames.ts";
import { MAX_PUBLIC_URL_LEN, MAX_SESSIONS_PER_MEMBER, PROTOCOL_VERSION, SESSION_START_BURST, SESSION_START_RATE_PER_SEC } from "../../protocol/limits.ts";
import type { HelloAckFrame } from "../../protocol/server-frames.ts";
import type { HandedOver } from "../../store/types.ts";
import type { BrokerContext } from "../context.ts";
import { Conn } from "../conn.ts";
import { authenticateHello, authenticateSessionHello, versionRefusal } from "../auth.ts";
import { admitRequest, isRead, runRequest } from "../handlers/index.ts";
import { handleAck } from "../handlers/messaging.ts";
import { handleSend } from "../router.ts";
import { pump, wake } from "../delivery.ts";
import { rejectedLabels } from "../metrics.ts";
import { enqueue } from "./frame-line.ts";

export function onOpen(ctx: BrokerContext, conn: Conn): void {
  const timeout = ctx.config.helloTimeout;
  // The message names the timeout in force, not the default.
  const err = () => new MeshError("hello_timeout", `No hello arrived within ${timeout % 1000 === 0 ? `${timeout / 1000} s` : `${timeout} ms`} of connecting. Send the hello first.`);
  conn.helloTimer = setTimeout(() => reject(ctx, conn, err()), timeout);
}

/** Frames must be UTF-8 text. A binary frame waits its turn like a text frame: as the first frame
 *  it is a handshake failure like any other; behind a hello it is judged once that hello is, so
 *  it cannot end a handshake that a text frame in its place would not. */
export function onBinary(ctx: BrokerContext, conn: Conn): void {
  enqueue(ctx, conn, 0, () => binaryFrame(ctx, conn));
}

function binaryFrame(ctx: BrokerContext, conn: Conn): void {
  if (conn.state === "closed") return;
  const err = new MeshError("invalid_frame", "Frames must be UTF-8 text (JSON).");
  if (conn.state === "hello") return reject(ctx, conn, new MeshError("malformed", err.message));
  replyError(ctx, conn, err, undefined);
}

/** Unsent bytes a socket may have before its hello is admitted. The broker writes at most one
 *  error frame to such a socket, but Bun answers every ping with a pong, and keeps pongs the
 *  client does not read up to its backpressure limit (16 MiB) before it drops them: a client
 *  that pings and never reads would make the broker hold that much per socket, for as many
 *  sockets as its address may open, until each one's hello deadline. */
const MAX_UNSENT_BEFORE_HELLO = 64 * 1024;

/** A ping from the client (Bun answers it with a pong itself). Before the hello, a client that
 *  lets pongs pile up is refused (`rate_limited`); after it, the broker stops reading a socket
 *  whose output reached PAUSE_BYTES (Conn.congested), so that it takes no more pings to answer. */
export function onPing(ctx: BrokerContext, conn: Conn): void {
  if (conn.state === "ready") return void conn.congested();
  if (conn.state !== "hello" || conn.transport.buffered() <= MAX_UNSENT_BEFORE_HELLO) return;
  reject(ctx, conn, new MeshError("rate_limited", "Pings came faster than their pongs were read, before any hello. Send the hello first."));
}

export function onMessage(ctx: BrokerContext, conn: Conn, text: string): void {
  conn.awaitingPong = false;
  const tooLarge = frameSizeError(text, ctx.config.maxFrameBytes);
  // An oversized frame is answered in its turn, but its text is not kept while it waits: the
  // closure comes from another function, as one made here would hold this scope, and `text` in it.
  if (tooLarge) enqueue(ctx, conn, 0, refusal(ctx, conn, tooLarge));
  else enqueue(ctx, conn, text.length, () => handleFrame(ctx, conn, text));
}

const refusal = (ctx: BrokerContext, conn: Conn, err: MeshError) => () => undecodable(ctx, conn, err);

/** Rejects a connection during the handshake: close 1008 with the error code as reason. `hello`:
 *  the hello refused, whose mesh and key (as claimed, perhaps falsely) the log line names. Every
 *  refusal is counted; the log gets a bounded number of lines (refusal-log.ts). */
function reject(ctx: BrokerContext, conn: Conn, err: MeshError, hello?: HelloFrame | SessionHelloFrame): void {
  if (conn.state === "closed") return;
  ctx.metrics.connectionsRejected.inc({ reason: err.code });
  const claimed = hello && { meshId: hello.meshId, ...(hello.type === "hello" ? { pubkey: hello.pubkey } : { pubkey: hello.sessionPubkey, parentMemberPubkey: hello.parentMemberPubkey }) };
  // How far the hello's clock is from the broker's (positive: ahead), for a skew refusal.
  const skew = err.code === "timestamp_skew" && hello ? { skewMs: hello.timestamp - ctx.now() } : {};
  const member = hello && `${hello.meshId} ${hello.type === "hello" ? hello.pubkey : hello.parentMemberPubkey}`;
  ctx.refusals.note(err.code, member, { conn: conn.id, reason: err.code, ip: conn.transport.remoteAddress, ...claimed, ...skew });
  ctx.failures.note(err, "hello"); // a hello the database refused (full, locked) warns like a request
  conn.send({ type: "error", code: err.code, message: err.message, retryable: err.retryable });
  conn.close(CloseCode.policy, err.code);
  conn.state = "closed";
}

function replyError(ctx: BrokerContext, conn: Conn, err: unknown, id: string | number | undefined): void {
  const e = err instanceof MeshError ? err : new MeshError("internal", undefined, { cause: err });
  if (conn.ready) ctx.frameAllowance.spend(conn.id, 1); // a refusal costs the broker an answer
  if (e.code === "internal") ctx.log.error("request failed", { conn: conn.id, err: (e.cause as Error) ?? e });
  ctx.failures.note(e, "websocket");
  ctx.metrics.messagesRejected.inc(rejectedLabels(e));
  conn.send({ type: "error", ...(id !== undefined ? { id } : {}), ...e.toJSON() });
}

/** Handles one frame; the connection's next frame waits for what it returns (a send's: until the
 *  send is handed to the group commit, handleSend's `submitted`). Not an async function: the
 *  frames of every message (a send, an ack) await nothing here, and an async function's
 *  generator and scopes would be garbage for each. */
function handleFrame(ctx: BrokerContext, conn: Conn, text: string): void | Promise<void> {
  if (conn.state === "closed") return;
  let frame: ClientFrame;
  try {
    frame = decodeClientFrame(text, ctx.config.maxFrameBytes);
  } catch (err) {
    return undecodable(ctx, conn, err as MeshError, text);
  }
  if (conn.state === "hello") return handshake(ctx, conn, frame);
  if (frame.type === "hello" || frame.type === "session_hello") return replyError(ctx, conn, new MeshError("already_hello"), undefined);
  // Sends (the member's send allowance bounds them) and acks of what this connection was given
  // (handleAck) move messages; every other request costs the connection's frame allowance.
  if (frame.type !== "send" && frame.type !== "ack") ctx.frameAllowance.spend(conn.id, 1);
  if (frame.type === "send" || frame.type === "ack") {
    try {
      admitRequest(ctx, conn.identity!, frame.type);
    } catch (err) {
      return replyError(ctx, conn, err, frame.id);
    }
  }
  if (frame.type === "send") return send(ctx, conn, frame);
  if (frame.type === "ack") return ack(ctx, conn, frame);
  return request(ctx, conn, frame);
}

/** A send, answered once committed and flushed; the connection's next frame waits only until it
 *  is handed to the group commit. */
function send(ctx: BrokerContext, conn: Conn, frame: ClientFrameOf<"send">): Promise<void> {
  const id = frame.id;
  let submitted!: () => void;
  const handedOff = new Promise<void>((r) => (submitted = r));
  handleSend(ctx, conn, frame, submitted).then(
    (data) => conn.send({ type: "result", id, data }),
    (err) => replyError(ctx, conn, err, id),
  ).finally(submitted);
  return handedOff;
}

/** An ack, answered (when it has an id) once committed; the connection's next frame does not wait. */
function ack(ctx: BrokerContext, conn: Conn, frame: ClientFrameOf<"ack">): void {
  const id = frame.id;
  handleAck(ctx, conn, frame).then(
    (data) => id !== undefined && conn.send({ type: "result", id, data }),
    (err) => replyError(ctx, conn, err, id),
  );
}

/** Characters of an answer refused for its address's unsent-output cap that cost one token of the
 *  connection's frame allowance. */
const REFUSED_CHARS_PER_TOKEN = 16 * 1024;

/** Any other request, answered once its handler is done; the connection's next frame waits for it.
 *  Its answer is written only if the connection's address has room for it (Conn.answerRefused). */
async function request(ctx: BrokerContext, conn: Conn, frame: ClientFrameOf<RequestType>): Promise<void> {
  try {
    const text = JSON.stringify({ type: "result", id: frame.id, data: await runRequest(ctx, conn, frame) });
    // A read's answer its address has no room for (address-output.ts) is not kept: refused,
    // retryable. Any other answer says what was done, and is small (fetch's a page at most).
    const refused = isRead(frame.type) ? conn.answerRefused(text.length) : null;
    if (refused) {
      // The answer was made all the same: a client that asks for answers it does not read is
      // paced by their size (frame-line.ts), rather than have the broker make them at its request rate.
      ctx.frameAllowance.spend(conn.id, Math.ceil(text.length / REFUSED_CHARS_PER_TOKEN));
      return replyError(ctx, conn, refused, frame.id);
    }
    conn.sendRaw(text);
  } catch (err) {
    replyError(ctx, conn, err, frame.id);
  }
}

/** Answers a frame that failed decoding (`text` omitted when it was not kept): the handshake
 *  ends, or the connection gets an error frame with the frame's id if it can be recovered. */
function undecodable(ctx: BrokerContext, conn: Conn, err: MeshError, text?: string): void {
  if (conn.state === "closed") return;
  const max = ctx.config.maxFrameBytes;
  if (conn.state === "hello") return reject(ctx, conn, text === undefined ? err : helloDecodeError(err, text, max));
  replyError(ctx, conn, err, text === undefined ? undefined : recoverRequestId(text, max));
}

/** Why a first frame that failed decoding is refused. A schema failure is `malformed`, except for
 *  a hello of a newer protocol version (which may carry fields this one does not know): that is
 *  `unsupported_version`, so that a newer client learns the broker is older (protocol.md §1.2). */
function helloDecodeError(err: MeshError, text: string, maxBytes: number): MeshError {
  if (err.code !== "invalid_frame") return err;
  return versionRefusal(recoverHelloVersion(text, maxBytes)) ?? new MeshError("malformed", err.message);
}

async function handshake(ctx: BrokerContext, conn: Conn, frame: ClientFrame): Promise<void> {
  if (frame.type !== "hello" && frame.type !== "session_hello") return reject(ctx, conn, new MeshError("no_hello"));
  try {
    const now = ctx.now();
    const identity = frame.type === "hello" ? await authenticateHello(ctx.store, frame, now) : await authenticateSessionHello(ctx.store, frame, now);
    if (conn.state === "closed") return;
    if (ctx.draining) return reject(ctx, conn, new MeshError("unavailable", "The broker is shutting down."), frame);
    // Decided before admit's store writes (a session row, presence), so a refusal stores nothing:
    // the slot is held while admit awaits the store, and released once attached or refused.
    if (meshFull(ctx, identity.meshId)) return reject(ctx, conn, new MeshError("capacity"), frame);
    const release = ctx.hub.holdSlot(identity.meshId);
    const handed: Handed = {};
    try {
      await admit(ctx, conn, frame, identity, now, release, handed);
    } finally {
      release();
      // Refused (or gone) before it attached: what its hello was given for its member goes back.
      if (handed.given && conn.identity !== identity) giveBack(ctx, identity, handed.given);
    }
  } catch (err) {
    reject(ctx, conn, err instanceof MeshError ? err : new MeshError("internal", undefined, { cause: err }), frame);
  }
}

/** Whether the mesh's connections and the handshakes holding a slot reach maxConnectionsPerMesh. */
/** hello_ack's `publicUrl` (§2.6): the configured one without its trailing slashes, when there is
 *  one within MAX_PUBLIC_URL_LEN. */
const statedPublicUrl = (publicUrl: string): { publicUrl?: string } => {
  const url = publicUrl.replace(/\/+$/, "");
  return url && url.length <= MAX_PUBLIC_URL_LEN ? { publicUrl: url } : {};
};

const meshFull = (ctx: BrokerContext, meshId: string) => ctx.hub.meshSlotsTaken(meshId) >= ctx.config.maxConnectionsPerMesh;

/** What a session hello's hand-over took, for the handshake to give back if the hello is refused. */
type Handed = { given?: HandedOver };

async function admit(ctx: BrokerContext, conn: Conn, frame: HelloFrame | SessionHelloFrame, identity: NonNullable<Conn["identity"]>, now: number, releaseSlot: () => void, handed: Handed): Promise<void> {
  const where = { sessionId: frame.sessionId, pid: frame.pid, cwd: frame.cwd, hostname: frame.hostname ?? "" };
  let stored: { status: "idle" | "working" | "dnd"; summary: string } | null;
  let fromMemberMailbox: number | undefined;
  if (identity.kind === "session") {
    const before = await ctx.store.getSession(identity.meshId, identity.pubkey);
    if (!before || before.endedAt !== null) {
      startSession(ctx, identity.memberId);
      await makeRoomForSession(ctx, identity, now);
    }
    const s = await ctx.store.upsertSession({ meshId: identity.meshId, pubkey: identity.pubkey, memberId: identity.memberId, displayName: identity.displayName, cwd: where.cwd, hostname: where.hostname, lastSeenAt: now, attestation: identity.attestation });
    // New, revived, or back from beyond the routing horizon: a recipient from now on. The cached
    // roster takes the stored row, rather than reloading the mesh at the next send.
    ctx.roster.putSession(identity.meshId, s);
    stored = s;
    handed.given = await handOver(ctx, identity, now);
    fromMemberMailbox = handed.given.copied.length;
  } else {
    stored = await ctx.store.getMember(identity.meshId, identity.memberId);
  }
  const mesh = await ctx.store.getMesh(identity.meshId);
  await ctx.store.setPresence(identity.meshId, identity.pubkey, { lastSeenAt: now });
  const pending = await ctx.store.pendingCount(identity.meshId, [identity.pubkey]);
  if (conn.state === "closed") return;
  // A key the members table knows, of a mesh the store cannot find: the database is damaged (an
  // index entry, say, which quick_check does not compare with its table). Said at once, and logged,
  // rather than left to run into the hello deadline.
  if (!mesh) {
    ctx.log.error("hello failed: the mesh of a known key is missing from the database", { conn: conn.id, meshId: identity.meshId });
    return reject(ctx, conn, new MeshError("internal", "The broker knows your key but cannot find your mesh's record: its database is damaged. Tell its operator (claudemesh serve --check)."), frame);
  }
  // Removed while this handshake awaited the store: the removal closed only what was attached.
  if (ctx.hub.isRemoved(identity.meshId, identity.memberId)) return reject(ctx, conn, new MeshError("revoked"), frame);
  // The slot held since the handshake's check becomes the attached connection. (Checked again, with
  // no await before the attach, though the held slots already keep the limit.)
  releaseSlot();
  if (meshFull(ctx, identity.meshId)) return reject(ctx, conn, new MeshError("capacity"), frame);
  // From attach on, the connection receives events and pushes: nothing may await between it and
  // the hello_ack, or an event could reach the client before its hello_ack.
  if (conn.helloTimer) clearTimeout(conn.helloTimer);
  conn.identity = identity;
  conn.receive = frame.receive ?? "push";
  conn.events = frame.events ? new Set(frame.events) : null;
  conn.state = "ready";
  // A restart forgets a working status (it was true of the old process); dnd is a user choice and stays.
  const initial = { status: stored?.status === "dnd" ? ("dnd" as const) : ("idle" as const), summary: stored?.summary ?? "" };
  const { presence, reattached, replaced } = ctx.hub.attach(conn, identity, where, initial, now);
  // The dropped `working` leaves the stored row too, so that the row is what the presence shows
  // (a start after a crash takes a snapshot's presences with their rows' status: presence-carry.ts).
  // Not awaited (nothing may await before the hello_ack); a later change is stored after it.
  if (!reattached && stored?.status === "working") void ctx.store.setPresence(identity.meshId, identity.pubkey, { status: "idle" }).catch((err) => ctx.log.warn("a dropped working status could not be stored", { conn: conn.id, err }));
  // Marked between the hand-over above and this attach (no session of the member was connected):
  // given in the attach's turn, so before the pump claims, and none is marked after it.
  if (identity.kind === "session") lateHandOver(ctx, identity, now);
  for (const old of replaced) {
    old.close(CloseCode.sessionReplaced, "session_replaced");
  }
  ctx.metrics.connectionsTotal.inc();
  ctx.metrics.connectionsActive.inc();
  ctx.log.debug("connection accepted", { conn: conn.id, meshId: identity.meshId, memberId: identity.memberId, kind: identity.kind, pubkey: identity.pubkey, ip: conn.transport.remoteAddress, reattached });
  const ack: HelloAckFrame = {
    type: "hello_ack",
    protocolVersion: PROTOCOL_VERSION,
    presenceId: conn.id,
    memberId: identity.memberId,
    role: identity.role,
    displayName: identity.displayName,
    mesh: { id: mesh.id, slug: mesh.slug, name: mesh.name, ownerPubkey: mesh.ownerPubkey, keyEpoch: mesh.keyEpoch },
    hookToken: presence.hookToken,
    pending,
    epoch: ctx.store.epoch,
    serverTime: now,
    reattached,
    limits: { maxFrameBytes: ctx.config.maxFrameBytes, sendRatePerSec: ctx.config.sendRate, sendBurst: ctx.config.sendBurst },
    pingIntervalMs: ctx.config.pingInterval,
    ...(fromMemberMailbox !== undefined ? { fromMemberMailbox } : {}),
    ...statedPublicUrl(ctx.config.publicUrl),
  };
  conn.send(ack);
  if (!reattached) {
    ctx.hub.emit(identity.meshId, "peer_joined", { pubkey: identity.pubkey, memberId: identity.memberId, displayName: identity.displayName, kind: identity.kind, cwd: where.cwd, hostname: where.hostname }, presence.key);
  }
  // Whatever was queued before the attach (`pending`, or committed since) is pumped now.
  conn.backlog = true;
  void pump(ctx, conn, presence);
}

/** Gives a session, within its mailbox's quota, what its member's mailbox holds that no session
 *  of the member was around to receive (protocol §5.1). Counted in hello_ack; what is marked
 *  after it, until the attach, is given by lateHandOver. */
function handOver(ctx: BrokerContext, identity: NonNullable<Conn["identity"]>, now: number): Promise<HandedOver> {
  // The store counts the mailbox in the copy's transaction; sends waiting in a group commit it cannot see.
  const quota = ctx.config.queueQuota - ctx.writes.uncommittedFor(identity.meshId, identity.pubkey);
  return ctx.store.handOverToSession({ meshId: identity.meshId, memberPubkey: identity.memberPubkey, sessionPubkey: identity.pubkey, quota, nowMs: now });
}

/** The hand-over again, once attached: the store applies writes in the order they are asked for,
 *  so the pump's first claim finds these copies in their place. They are pushed after hello_ack
 *  like any message that arrived during the handshake. A failure leaves them marked for the next
 *  session. */
function lateHandOver(ctx: BrokerContext, identity: NonNullable<Conn["identity"]>, now: number): void {
  handOver(ctx, identity, now).catch((err) => ctx.log.warn("giving a session what arrived during its hello failed", { meshId: identity.meshId, pubkey: identity.pubkey, err }));
}

/** Undoes a hello's handOver when the hello did not attach; a failure is logged, the copies then
 *  wait in the session's mailbox for its key to come back. */
function giveBack(ctx: BrokerContext, identity: NonNullable<Conn["identity"]>, given: HandedOver): void {
  if (given.copied.length + given.took.length === 0) return;
  ctx.store
    .giveBackFromSession({ meshId: identity.meshId, memberPubkey: identity.memberPubkey, sessionPubkey: identity.pubkey, given })
    .catch((err) => ctx.log.warn("giving back a refused session's messages failed", { meshId: identity.meshId, pubkey: identity.pubkey, err }));
}

/** Takes one of the member's session starts (SESSION_START_BURST, SESSION_START_RATE_PER_SEC), or
 *  throws rate_limited before anything is stored: each start writes a row that stays for the
 *  message TTL, even once ended. */
function startSession(ctx: BrokerContext, memberId: string): void {
  if (ctx.sessionStarts.take(memberId)) return;
  const waitS = Math.ceil(ctx.sessionStarts.waitMs(memberId) / 1000);
  throw new MeshError("rate_limited", `This member started sessions faster than one every ${1 / SESSION_START_RATE_PER_SEC} s (after a burst of ${SESSION_START_BURST}); wait ${waitS} s and connect again.`);
}

/** Keeps a member within MAX_SESSIONS_PER_MEMBER: each session is a mailbox every fan-out message
 *  writes a row to, and a member can attest any number of keys. A new session past the limit ends
 *  the member's longest-unseen offline sessions (their queued messages go with them, as at
 *  session_end); with all of them connected it is refused. A session in its presence grace has no
 *  connection: it is offline, ended after those gone longer (its grace began last) and taken out
 *  of the hub with peer_left, so that a reconnect of its key starts it anew, as after session_end.
 *  (Counted as connected, 64 sessions dropped together refused every new one for the grace.) */
async function makeRoomForSession(ctx: BrokerContext, identity: NonNullable<Conn["identity"]>, now: number): Promise<void> {
  const mine = (await ctx.store.listSessions(identity.meshId, now - ctx.config.messageTtl, identity.memberId)).filter((s) => s.pubkey !== identity.pubkey);
  const excess = mine.length - (MAX_SESSIONS_PER_MEMBER - 1);
  if (excess <= 0) return;
  const offline = () => mine.filter((s) => !ctx.hub.get(s.meshId, s.pubkey)?.conns.size);
  const left = (s: (typeof mine)[number]) => ctx.hub.get(s.meshId, s.pubkey)?.leftAt ?? s.lastSeenAt;
  const full = () => new MeshError("capacity", `This member already has ${MAX_SESSIONS_PER_MEMBER} sessions connected; end one first.`);
  if (offline().length < excess) throw full();
  await ctx.writes.barrier(); // the acks of a connection that just closed first
  // Again after the wait: one that reconnected meanwhile is not ended under its new connection.
  const ending = offline().sort((a, b) => left(a) - left(b)).slice(0, excess);
  if (ending.length < excess) throw full();
  for (const s of ending) {
    await ctx.store.endSession(s.meshId, s.pubkey, now);
    ctx.roster.dropSession(s.meshId, s.pubkey);
    const graced = ctx.hub.get(s.meshId, s.pubkey);
    if (graced && graced.conns.size === 0) ctx.hub.remove(graced);
  }
}

export async function onClose(ctx: BrokerContext, conn: Conn, code: number): Promise<void> {
  const wasReady = conn.state === "ready";
  conn.state = "closed";
  conn.outputMoved(); // a frame waiting for room is dropped (handleFrame skips a closed connection)
  conn.endPace(); // the same for one waiting out the frame allowance
  conn.endProof(); // and for one waiting to show that it reads
  ctx.frameAllowance.forget(conn.id);
  if (conn.helloTimer) clearTimeout(conn.helloTimer);
  if (code === 1009) ctx.metrics.messagesRejected.inc({ reason: "frame_too_large" });
  if (!wasReady) return;
  if (conn.closedBy !== null) ctx.metrics.connectionsClosed.inc({ reason: conn.closedBy });
  ctx.log.debug("connection closed", { conn: conn.id, meshId: conn.identity!.meshId, pubkey: conn.identity!.pubkey, code });
  ctx.metrics.connectionsActive.dec();
  ctx.hub.detach(conn);
  // While draining, claims are left alone: they end with the process. Otherwise they are released
  // whatever `inflight` says: an ack removes its ids from it before its commit, and an ack that
  // then fails to commit leaves entries claimed that no inflight id names any more.
  if (ctx.draining) return;
  conn.inflight.clear();
  const released = await ctx.store.releaseClaims(conn.id).catch((err) => (ctx.log.error("releasing claims failed", { conn: conn.id, err }), 0));
  // Another connection of the same identity may take over what this one held.
  const id = conn.identity!;
  if (released > 0) wake(ctx, ctx.hub.get(id.meshId, id.pubkey));
}
