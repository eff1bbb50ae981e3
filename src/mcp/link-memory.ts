// What one session remembers in one mesh besides which messages it saw, saved with its replay
// memory so that Claude Code starting the MCP server again forgets none of it: the replies to its
// questions it was shown whole (shown-replies.ts), who sent the messages it was shown
// (reply-targets.ts), and the peers' questions it was shown and has not answered (open-asks.ts).
// Every change calls `changed`, which schedules that save (SeenWriter.changed).
import type { ShownReplies } from "./shown-replies.ts";
import type { ReplyTarget, ReplyTargets } from "./reply-targets.ts";
import type { OpenAsk, OpenAsks } from "./open-asks.ts";
import type { ShownReply } from "./reply-waiters.ts";
import type { Pending } from "./mesh-link.ts";

export class LinkMemory {
  constructor(
    private readonly shownReplies: ShownReplies,
    private readonly replyTargets: ReplyTargets,
    private readonly asks: OpenAsks,
    private readonly changed: () => void,
  ) {}

  /** What the replay file saves beside the seen ids. */
  toJson(): Record<string, unknown> {
    return { replies: this.shownReplies.toJson(), senders: this.replyTargets.toJson(), asks: this.asks.toJson() };
  }

  /** Records that `reply`, answering this session's question `questionId`, was shown whole (the
   *  first shown of each question counts): a later ask of that question, in this process or after
   *  a restart, says so instead of waiting. */
  rememberReply(questionId: string, reply: ShownReply): void {
    if (this.shownReplies.add(questionId, reply)) this.changed();
  }

  /** The reply to question `questionId` the model was already shown whole, if any. */
  shownReply(questionId: string): ShownReply | undefined {
    return this.shownReplies.get(questionId);
  }

  /** Records who sent `m`, a message the model was shown (or pushed with its text), so that
   *  mesh_reply answers it by id, in this process or after a restart. */
  rememberSender(m: Pending): void {
    if (this.replyTargets.add(m.messageId, { from: m.from, ask: m.ask })) this.changed();
  }

  /** The sender of message `messageId` the model was shown in this session, if known. */
  replyTarget(messageId: string): ReplyTarget | undefined {
    return this.replyTargets.get(messageId);
  }

  /** Records `m`, a question the model was shown, as open until answered (for the Stop hook's
   *  reminder, also after a restart). */
  rememberAsk(m: Pending): void {
    if (this.asks.add(m)) this.changed();
  }

  /** Question `messageId` was answered: no longer open. */
  askAnswered(messageId: string): void {
    if (this.asks.answered(messageId)) this.changed();
  }

  /** A Stop hook's reminder listed these questions: not listed again. */
  asksReminded(ids: readonly string[]): void {
    if (this.asks.reminded(ids)) this.changed();
  }

  /** This mesh's open questions, oldest first; `unreminded`: only those no reminder listed. */
  openAsks(unreminded = false): OpenAsk[] {
    return this.asks.list(unreminded);
  }
}
