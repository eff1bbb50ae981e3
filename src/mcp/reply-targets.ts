// Who sent each message this session was shown (or pushed with its text), by message id, so that
// mesh_reply answers a message by the id the model holds, and a reply to a question defaults to
// priority `now`. The newest are kept in the replay file beside the (sender, client message id)
// pairs (seen/<mesh>.<scope>.json, key "senders"): Claude Code may start the session's MCP server
// again (`/mcp`, a crash, an upgrade) while the conversation, and the ids in it, go on. Written by
// the same write that records the message as seen (SeenWriter).
import { ID_RE, PUBKEY_RE } from "../crypto/fields.ts";
import type { Delivered } from "../client/mesh-session.ts";

/** Most senders kept in memory per mesh, oldest dropped first: one peer sending in a loop must not
 *  grow this process without bound. */
export const MAX_REPLY_TARGETS = 2000;
/** Of those, the newest saved: each costs about 250 bytes in a file rewritten on every read
 *  (125 KB at most), and a reply concerns a recent message. */
export const SAVED_REPLY_TARGETS = 500;
/** Most characters of a sender's name kept (it is the peer's own choice; quoted when shown). */
const MAX_NAME_CHARS = 200;

export type ReplyTarget = { from: Delivered["from"]; ask: boolean };

/** One saved sender: [message id, session or member key, member key, member id, name, asked]. */
type Saved = [string, string, string, string, string, boolean];

const valid = (e: unknown): e is Saved =>
  Array.isArray(e) &&
  e.length === 6 &&
  typeof e[0] === "string" && ID_RE.test(e[0]) &&
  typeof e[1] === "string" && PUBKEY_RE.test(e[1]) &&
  typeof e[2] === "string" && PUBKEY_RE.test(e[2]) &&
  typeof e[3] === "string" && e[3].length <= 64 &&
  typeof e[4] === "string" &&
  typeof e[5] === "boolean";

export class ReplyTargets {
  private readonly byMessage = new Map<string, ReplyTarget>();

  /** From what the replay file held under "senders": entries that are not well-formed are skipped
   *  (a hand edit costs only mesh_reply for them, never the replay memory). */
  constructor(saved: unknown = []) {
    for (const e of Array.isArray(saved) ? saved : []) if (valid(e)) this.add(e[0], { from: { pubkey: e[1], memberPubkey: e[2], memberId: e[3], name: e[4] }, ask: e[5] });
  }

  /** Keeps the sender of `messageId` as the newest (the oldest goes when full); true if anything
   *  changed (the file must be written). */
  add(messageId: string, t: ReplyTarget): boolean {
    const had = this.byMessage.get(messageId);
    if (had && had.ask === t.ask && had.from.pubkey === t.from.pubkey) return false;
    this.byMessage.delete(messageId);
    this.byMessage.set(messageId, { from: { ...t.from, name: t.from.name.slice(0, MAX_NAME_CHARS) }, ask: t.ask });
    if (this.byMessage.size > MAX_REPLY_TARGETS) this.byMessage.delete(this.byMessage.keys().next().value!);
    return true;
  }

  get(messageId: string): ReplyTarget | undefined {
    return this.byMessage.get(messageId);
  }

  /** For the replay file: the newest SAVED_REPLY_TARGETS, oldest first. */
  toJson(): Saved[] {
    return [...this.byMessage].slice(-SAVED_REPLY_TARGETS).map(([id, { from, ask }]) => [id, from.pubkey, from.memberPubkey, from.memberId, from.name, ask]);
  }
}
