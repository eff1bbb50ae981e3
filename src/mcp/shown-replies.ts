// The replies to this session's questions that the model was already shown whole, by question id,
// kept in the replay file beside the (sender, client message id) pairs (seen/<mesh>.<scope>.json,
// key "replies"), so that a mesh_ask retried with its client_message_id says "already replied"
// also after the MCP server restarted, instead of waiting out its timeout for a reply the peer
// will not send again. Written by the same write that records the reply as seen (SeenWriter).
import { ID_RE } from "../crypto/fields.ts";
import { SHOWN_BY, type ShownBy, type ShownReply } from "./reply-waiters.ts";

/** Most replies kept per mesh, oldest dropped first: a retry concerns a recent question, and each
 *  entry costs about 150 bytes in a file rewritten on every read (75 KB at most). */
export const MAX_SHOWN_REPLIES = 500;
/** Most characters of a sender's name kept (it is the peer's own choice; quoted when shown). */
const MAX_NAME_CHARS = 200;

/** One saved reply: [question id, message id, sender's name, where shown]. */
type Saved = [string, string, string, ShownBy];

const valid = (e: unknown): e is Saved =>
  Array.isArray(e) && e.length === 4 && typeof e[0] === "string" && ID_RE.test(e[0]) && typeof e[1] === "string" && ID_RE.test(e[1]) && typeof e[2] === "string" && (SHOWN_BY as readonly unknown[]).includes(e[3]);

export class ShownReplies {
  private readonly byQuestion = new Map<string, ShownReply>();

  /** From what the replay file held under "replies": entries that are not well-formed are skipped
   *  (a hand edit costs only the "already replied" answer for them, never the replay memory). */
  constructor(saved: unknown = []) {
    for (const e of Array.isArray(saved) ? saved : []) if (valid(e)) this.add(e[0], { messageId: e[1], fromName: e[2].slice(0, MAX_NAME_CHARS), by: e[3] });
  }

  /** Keeps the first reply shown for `questionId`; true if it was new (the file must be written). */
  add(questionId: string, r: ShownReply): boolean {
    if (this.byQuestion.has(questionId)) return false;
    this.byQuestion.set(questionId, { ...r, fromName: r.fromName.slice(0, MAX_NAME_CHARS) });
    if (this.byQuestion.size > MAX_SHOWN_REPLIES) this.byQuestion.delete(this.byQuestion.keys().next().value!);
    return true;
  }

  get(questionId: string): ShownReply | undefined {
    return this.byQuestion.get(questionId);
  }

  /** For the replay file, oldest first. */
  toJson(): Saved[] {
    return [...this.byQuestion].flatMap(([q, r]) => (r.by ? [[q, r.messageId, r.fromName, r.by] as Saved] : []));
  }
}
