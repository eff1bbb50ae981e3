// claudemesh inbox [--follow] [--all]: fetch and decrypt waiting messages, show them, and only
// once stdout has taken a message remember it locally and ack it. One stdout did not take (its
// reader quit, `| head`; a full disk) stays unread for the next `inbox`; a crash between showing
// and remembering shows it again. "Taken" is what the pipe accepted: up to a pipe's buffer may still
// be in it when its reader quits, and nothing can tell how much of that the reader consumed.
// --follow keeps streaming (with --json: one JSON object per line); while you are dnd or working it
// says that only priority-now messages arrive. --all shows local history (offline), and with
// --follow streams on after it.
import type { MessagePushFrame } from "../../protocol/server-frames.ts";
import { PUSH_WINDOW } from "../../protocol/limits.ts";
import { CloseCode } from "../../protocol/close-codes.ts";
import { ERRORS, isErrorCode } from "../../protocol/errors.ts";
import type { PeerInfo } from "../../protocol/results.ts";
import type { BrokerClient } from "../../client/client.ts";
import { failedVerification, type MeshSession, type Delivered } from "../../client/mesh-session.ts";
import { readMessages } from "../../client/local/message-log.ts";
import { command, type CommonArgs, type Ctx } from "../context.ts";
import { abandonStdout, terminalSafe, UsageError, writeStdout } from "../output.ts";
import { exitCodeOf, onStop } from "../../local-file/interrupt.ts";
import { onStdoutReaderGone } from "../reader-gone.ts";
import { wholeNumber } from "../number-arg.ts";
import { openBatch, recordRead, senderLabel, sessionFor, type Batch } from "../mesh-io.ts";
import { formatMessage } from "../message-lines.ts";
import { meshInLines, meshOption } from "../mesh-named.ts";
import { ownerDmNote } from "../../client/owner-dm.ts";
import { closedForGood } from "../../client/removed.ts";
import { peersLookedUp } from "../../client/lookups.ts";

/** Opens one batch and answers key requests if this member is the owner. Nothing is recorded or
 *  acked yet: settle does that once the messages were shown. */
async function openPage(ctx: Ctx, session: MeshSession, client: BrokerClient, pushes: MessagePushFrame[], seen?: Set<string>): Promise<Batch> {
  await session.learnSenders(client, pushes);
  const batch = openBatch(session, pushes, seen);
  for (const d of batch.dropped) ctx.debug(`dropped ${d.messageId}: ${d.reason}`);
  if (batch.dropped.some((d) => d.reason === "keys_stale") && (await session.askIfBehind(client).catch(() => false))) {
    ctx.out.note("Asked the mesh owner for the mesh keys again.");
  }
  for (const request of batch.keyRequests) await answer(ctx, session, client, batch, request);
  return batch;
}

/** Answers a key request if this member is the owner: once for the requests of one member read
 *  together (KeyAnswers). One that could not be answered (the member rows did not come, the send
 *  failed) is taken out of `batch`'s acks and handled messages: left unread and unrecorded, it is
 *  answered by the next inbox rather than lost. */
async function answer(ctx: Ctx, session: MeshSession, client: BrokerClient, batch: Batch, request: Delivered): Promise<void> {
  try {
    if ((await session.keyAnswers.answer(session, client, request, ctx.mesh().removed)) === "sent") ctx.out.note(`Sent the mesh keys to ${senderLabel(request.from)}.`);
  } catch (err) {
    batch.ack = batch.ack.filter((id) => id !== request.messageId);
    batch.handled = batch.handled.filter((m) => m !== request);
    ctx.out.warn(`the key request of ${senderLabel(request.from)} was not answered: ${(err as Error).message} It stays unread for the next \`claudemesh inbox${again(ctx)}\`, which answers it.`);
  }
}

/** Records (local history, replay memory) and acks the first `shown` messages of `batch`, those
 *  stdout took, with its dropped and control messages. The others stay unread: not recorded, so
 *  their redelivery is shown rather than dropped as a replay, and not acked, so the broker hands
 *  them out again. A failed ack is harmless: the redelivery is dropped as seen. */
async function settle(ctx: Ctx, session: MeshSession, client: BrokerClient, batch: Batch, shown: number): Promise<void> {
  const read = batch.read.slice(0, shown);
  recordRead(ctx, session, read, batch.handled);
  const ack = [...batch.ack, ...read.map((m) => m.messageId)];
  if (ack.length) await client.ackSync(ack).catch((err: Error) => ctx.debug(`ack failed (the redelivery will be dropped as seen): ${err.message}`));
}

/** Shows a page of the one-shot read and settles what stdout took. A signal meanwhile (Ctrl-C with
 *  `| less` left on a page, a terminal closed) gives up the line stdout has not taken, and the
 *  read ends once those it took are settled, as the signal would end it (the caller exits 128+n).
 *  Killed at once, the lines stdout had taken were shown again by the next inbox. */
async function showPage(ctx: Ctx, session: MeshSession, client: BrokerClient, b: Batch): Promise<{ n: number; signal: NodeJS.Signals | null }> {
  let signal: NodeJS.Signals | null = null;
  const guard = onStop((s) => {
    signal ??= s;
    abandonStdout();
  });
  try {
    const n = await showLines(ctx, b.read);
    await settle(ctx, session, client, b, n);
    return { n, signal };
  } finally {
    guard.off();
  }
}

/** Writes one line per message (formatMessage's lines: the header names the mesh when the user is
 *  in several), each once the one before was taken; resolves to how many stdout took (it stops at
 *  the first that failed). */
async function showLines(ctx: Ctx, read: readonly Delivered[]): Promise<number> {
  let shown = 0;
  const mesh = meshInLines(ctx.config(), ctx.mesh());
  for (const m of read) {
    if (!(await writeStdout((ctx.out.json ? JSON.stringify(m) : terminalSafe(formatMessage(m, { mesh }))) + "\n"))) break;
    shown++;
  }
  return shown;
}

/** The words for messages that did not verify: the one-shot read's footer, and a follower's
 *  warning per batch (what a modified broker re-targets, moves or re-attributes ends here, never
 *  shown). */
const droppedText = (n: number) => `${n} message(s) failed verification and were dropped; CLAUDEMESH_DEBUG=1 shows why`;

/** The words for keys messages from an owner session read after its attestation expired: honest
 *  ones that waited too long look the same as ones a session key leaked since could send. */
const staleText = (n: number) => `${n} mesh key message(s) came from an owner session whose attestation had expired by the time you read them; they were set aside, since a session key that leaked after its expiry could have sent them`;

/** A batch's dropped messages by what to say of them: repeats of messages already read (an honest
 *  redelivery as often as not), stale keys messages, and failures. */
function tally(b: Batch): { again: number; stale: number; failed: number } {
  const count = (pred: (reason: string) => boolean) => b.dropped.filter((d) => pred(d.reason)).length;
  return { again: count((r) => r === "replayed"), stale: count((r) => r === "keys_stale"), failed: count(failedVerification) };
}

/** The --mesh a command named in a hint needs (" --mesh <slug>" in several meshes, else ""):
 *  without it, `claudemesh inbox` or `status idle` is refused there. */
const again = (ctx: Ctx) => meshOption(ctx.config(), ctx.mesh());

/** Says, when stdout failed (or a signal stopped it: `why`) before taking every message, that the
 *  rest stay unread. */
const warnUnread = (ctx: Ctx, shown: number, why = "before it closed or failed") => ctx.out.warn(`stdout took ${shown} message(s) ${why}; the rest stay unread for the next \`claudemesh inbox${again(ctx)}\`.`);

/** Says how far the history of `inbox --all --follow` got when a signal stopped it: its messages
 *  were read before, so nothing changes for them, and the follow phase had not begun. */
const historyCut = (shown: number, of: number) => `Stopped during the history: stdout took ${shown} of its ${of} message(s), all read before and still in this machine's log; no new message was read.`;

export async function run(args: CommonArgs & { follow?: boolean; all?: boolean; limit?: string }): Promise<void> {
  await command(args, async (ctx) => {
    if (args.limit !== undefined && !args.all) throw new UsageError("--limit goes with --all (the most messages of your history to show); new messages are all shown at once.");
    const mesh = ctx.mesh();
    if (args.all) {
      const limit = args.limit === undefined ? 50 : wholeNumber(args.limit);
      if (limit === null || limit < 1) throw new UsageError("--limit must be a whole number, 1 or more.");
      const history = readMessages(ctx.env.configDir, mesh.meshId, limit);
      if (!args.follow) {
        const inLines = meshInLines(ctx.config(), mesh);
        await ctx.out.result({ messages: history }, () => (history.length ? history.map((m) => formatMessage(m, { mesh: inLines })).join("\n") : "No messages read yet."), { meshInText: history.length > 0 });
        return;
      }
      // --all --follow, as `tail -f`: the history first, then new messages as they arrive, one
      // line each (a JSON object per line with --json, as --follow prints). The history holds only
      // messages already read, and the follower only unread ones, so none is shown twice.
      return follow(ctx, sessionFor(ctx, mesh), history);
    }
    const session = sessionFor(ctx, mesh);
    if (args.follow) return follow(ctx, session);
    const client = await ctx.connect(mesh);
    const seen = new Set<string>();
    // --json: one document, so every page is shown (and then settled) at the end; in human mode
    // each page is shown and settled before the next is fetched.
    const held: Batch[] = [];
    let opened = 0;
    let shown = 0;
    let dropped = 0;
    let stale = 0;
    let alreadyRead = 0;
    let waiting = 0;
    let interrupted: string | null = null;
    for (;;) {
      // Pages already shown are recorded and will never be shown again: losing the connection
      // after one still shows them (and says so), rather than failing with nothing shown.
      const page = await client.request("fetch", { limit: 200 }).catch((err: Error) => {
        if (opened === 0) throw err;
        interrupted = err.message;
        return null;
      });
      if (!page || page.messages.length === 0) break;
      const b = await openPage(ctx, session, client, page.messages, seen);
      opened += b.read.length;
      // A message read before that comes again (an ack the broker never got, a broker restored
      // from a backup) is dropped by the replay memory: no failure, and nothing to alarm anyone.
      const t = tally(b);
      alreadyRead += t.again;
      dropped += t.failed;
      stale += t.stale;
      waiting += b.waiting;
      if (ctx.out.json) held.push(b);
      else {
        const { n, signal } = await showPage(ctx, session, client, b);
        shown += n;
        if (signal) return void (process.exitCode = exitCodeOf(signal));
        if (n < b.read.length) return warnUnread(ctx, shown);
      }
      if (page.remaining === 0 || b.ack.length + b.read.length === 0) break;
    }
    // Still behind the mesh's key epoch after reading everything: the owner's answer has not come.
    // Asked again if no request went out within the interval (KeyAsks): a lost one is made again.
    if (!interrupted && (await session.askIfBehind(client).catch(() => false))) ctx.out.note(`Asked the mesh owner for the mesh keys; they arrive with a later \`claudemesh inbox${again(ctx)}\`.`);
    const summary = { dropped, waitingForKeys: waiting, ...(stale ? { keysSetAside: stale } : {}), ...(alreadyRead ? { alreadyRead } : {}), ...(interrupted ? { interrupted } : {}) };
    const footer = [
      opened ? "" : "No new messages.",
      dropped ? `(${droppedText(dropped)})` : "",
      stale ? `(${staleText(stale)})` : "",
      alreadyRead ? `(${alreadyRead} message(s) you had already read came again and were skipped; \`claudemesh inbox${again(ctx)} --all\` shows them)` : "",
      waiting ? `(${waiting} message(s) use a mesh key you do not have yet; they wait for the owner's keys${await ownerDmNote(client, ctx.mesh().ownerPubkey, again(ctx)).then((n) => (n ? `. ${n}` : ""))})` : "",
      interrupted ? `(the connection was lost: ${interrupted} Run \`claudemesh inbox${again(ctx)}\` again for the rest.)` : "",
    ]
      .filter(Boolean)
      .join("\n");
    if (!ctx.out.json) {
      if (footer) await ctx.out.result(summary, () => footer);
      return;
    }
    // All pages settled as one: one replay-memory write and one ack for the document.
    const whole: Batch = { read: held.flatMap((b) => b.read), handled: held.flatMap((b) => b.handled), ack: held.flatMap((b) => b.ack), dropped: [], waiting: 0, sealed: [], keyRequests: [] };
    const taken = await ctx.out.result({ messages: whole.read, ...summary }, () => footer);
    await settle(ctx, session, client, whole, taken ? whole.read.length : 0);
    if (!taken && opened) warnUnread(ctx, 0);
  });
}

/** The broker pushes only priority-now messages while you are working or dnd (protocol §5.7), so
 *  a follower that shows nothing says why. ("" when idle, or when the status cannot be read.) Your
 *  own row is looked up by key, not read from the whole peer list. */
async function gateNote(client: BrokerClient, me: string, opt: string): Promise<string> {
  const peers = await peersLookedUp(client, me).catch(() => [] as PeerInfo[]);
  const status = peers.find((p) => p.pubkey === me)?.status;
  if (status !== "working" && status !== "dnd") return "";
  return `\nYou are ${status}: only priority-now messages show here as they arrive; the others wait until \`claudemesh status idle${opt}\` (or read them now with \`claudemesh inbox${opt}\`).`;
}

/** How soon a follower tries a batch again that it could not open (the member list did not come). */
const FOLLOW_RETRY_MS = 2000;

/** How long a follower stopped by a signal waits for the batch under way: its acks, usually
 *  answered in milliseconds. What it showed is recorded before; an ack that did not come in time
 *  is still sent ahead of the close, and its redelivery would be dropped as seen. */
const STOP_SETTLE_MS = 2000;

/** Follows new messages until stopped, after showing `history` (--all: messages read before). */
async function follow(ctx: Ctx, session: MeshSession, history: readonly Delivered[] = []): Promise<void> {
  const mesh = ctx.mesh();
  /** The connection dropped and has not come back yet (said once on stderr, human mode). */
  let lost = false;
  /** The refusal last said while reconnecting ("" once connected again). */
  let refusedFor = "";
  let pending: MessagePushFrame[] = [];
  let client: BrokerClient;
  let shown = 0;
  /** A signal stopped the follower while stdout had not taken every line of a batch. */
  let cutByStop = false;
  // Ctrl-C ends it, and so does stdout failing (its reader quit: `| head -1`); a close the client
  // does not recover from (kicked, banned) too, reported like any command's error instead of
  // leaving a follower that shows nothing.
  let stop: () => void = () => {};
  let endWith: (err: Error) => void = () => {};
  const ended = new Promise<void>((resolve, reject) => {
    stop = resolve;
    endWith = reject;
  });
  // A refusal of the first connect closes the client too, and connect() reports that one.
  ended.catch(() => {});
  let stopped = false;
  // Ctrl-C, SIGTERM (a service stopped, `kill`) and SIGHUP (its terminal closed) each stop it the
  // same way, exit 0: no batch is begun, the one being written stops at the first line stdout has
  // not taken (a reader that paused does not hold the stop), what was taken is recorded and acked
  // (within STOP_SETTLE_MS), and the connection is closed normally.
  let signalled: () => void = () => {};
  const signal = new Promise<null>((resolve) => (signalled = () => resolve(null)));
  onStop(() => {
    stopped = true;
    abandonStdout();
    signalled();
    stop();
  });
  // The history is shown under the same stop, so a signal then ends the command as it ends the
  // follow phase (exit 0). Its lines were recorded when first read: nothing to settle, only to say
  // how far it got. (Before, a signal here had its default effect: exit 130, 143 or 129.)
  const n = await showLines(ctx, history);
  if (stopped && n < history.length) ctx.out.note(historyCut(n, history.length));
  if (stopped || n < history.length) return;
  /** Pushes under a key epoch not held yet: the broker hands them to this connection only, so they
   *  are opened again with each later batch (the keys come on the same connection), not left
   *  unshown until the follower restarts. Bounded by the push window, as the broker bounds them. */
  let sealed: MessagePushFrame[] = [];
  const flush = async () => {
    const pushes = [...sealed, ...pending];
    pending = [];
    let b: Batch;
    const keysBefore = session.meshKeys.length;
    try {
      b = await openPage(ctx, session, client, pushes);
    } catch (err) {
      // Nothing of the batch was shown or acked (the member list could not be read, say): kept,
      // and tried again shortly, or with the next push, whichever comes first.
      sealed = [];
      pending = [...pushes, ...pending];
      setTimeout(() => void schedule(), FOLLOW_RETRY_MS).unref();
      throw err;
    }
    if (b.sealed.length > sealed.length) ctx.out.warn(`${b.sealed.length} message(s) use a mesh key you do not have yet; they are shown once the owner's keys come`);
    sealed = b.sealed.slice(-PUSH_WINDOW);
    // Keys came in this batch (after the pushes they open, perhaps): open those again now.
    if (sealed.length > 0 && session.meshKeys.length > keysBefore) schedule(true);
    // A repeat (`replayed`) is an honest redelivery as often as not: only a failure is said.
    const { failed, stale } = tally(b);
    if (failed) ctx.out.warn(droppedText(failed));
    if (stale) ctx.out.warn(staleText(stale));
    const n = await showLines(ctx, b.read);
    shown += n;
    if (n < b.read.length) cutByStop ||= stopped;
    await settle(ctx, session, client, b, n);
    if (n < b.read.length && !stopped) {
      stopped = true;
      warnUnread(ctx, shown);
      stop();
    }
  };
  // One batch at a time, so that lines keep their order and a batch after a failed write is
  // neither shown nor acked.
  let flushing = Promise.resolve();
  let queued = false;
  /** Queues a flush of what is pending (and, with `reopen`, of the sealed pushes alone). */
  const schedule = (reopen = false) => {
    if (queued || stopped) return;
    queued = true;
    flushing = flushing.then(() => ((queued = false), pending.length > 0 || (reopen && sealed.length > 0) ? flush() : undefined)).catch((err) => ctx.out.note(`inbox: ${(err as Error).message}`));
  };
  const connecting = ctx.connect(mesh, {
    receive: "push",
    reconnect: true,
    onMessage: (m) => {
      pending.push(m);
      schedule();
    },
    onState: (state, { code, reason }) => {
      if (state === "closed") endWith(closedForGood(mesh.slug, code, reason));
      // One line when the connection drops and one when it is back, not one per failed retry.
      // The broker as the client names it now: the one set-broker moved the mesh to, once it has.
      else if (state === "reconnecting" && !lost) ctx.out.note(`Lost the connection to the broker at ${client.brokerBase}; reconnecting until it answers (Ctrl-C to stop).`);
      else if (state === "open" && lost) ctx.out.note(`Connected to the broker at ${client.brokerBase} again.`);
      // A broker that answers and refuses (a clock that drifted) is said once per reason: retrying
      // alone may never fix it.
      if (state === "reconnecting" && code === CloseCode.policy && reason && reason !== refusedFor) {
        refusedFor = reason;
        ctx.out.warn(`the broker answers but refuses this connection (${reason})${isErrorCode(reason) ? `: ${ERRORS[reason].doc}` : "."} Still retrying.`);
      } else if (state === "open") refusedFor = "";
      lost = state === "reconnecting";
    },
  });
  // Stopped while it connects: the close (command's) ends the attempt.
  const connected = await Promise.race([connecting, signal]);
  if (!connected) return void connecting.catch(() => {});
  client = connected;
  const gate = await Promise.race([gateNote(client, mesh.publicKey, again(ctx)), signal]);
  if (gate !== null) ctx.out.note(`Following ${mesh.slug}; Ctrl-C to stop.${gate}`);
  // A reader that quits (`| head -1`) ends it as a write that found it gone does, without waiting
  // for a message to write.
  let readerGone = false;
  const watch = onStdoutReaderGone(() => {
    if (stopped) return;
    stopped = readerGone = true;
    stop();
  });
  await ended.finally(() => watch.stop());
  if (stopped) await Promise.race([flushing, Bun.sleep(STOP_SETTLE_MS)]);
  if (readerGone) warnUnread(ctx, shown);
  else if (cutByStop) warnUnread(ctx, shown, "before the stop");
}
