// The questions peers asked in one mesh that this session was shown and has not answered yet, for
// the Stop hook's reminder, and whether a reminder listed each already (each is listed once). Kept
// in the replay file with the senders (seen/<mesh>.<scope>.json, key "asks"), so that a restart of
// the session's MCP server by Claude Code (`/mcp`, a crash, an upgrade) forgets none of them.
// Written by the same writer as the seen messages (SeenWriter).
import { ID_RE } from "../crypto/fields.ts";
import type { Delivered } from "../client/mesh-session.ts";

/** Most open questions kept per mesh, oldest dropped first (still answerable by id while the mesh
 *  remembers its sender: reply-targets.ts). One peer asking in a loop must not grow this process,
 *  the replay file, nor the hook's answer, without bound. */
export const MAX_OPEN_ASKS = 200;
/** Most characters of a question kept: the reminder shows a line of it, not the question. With
 *  the name, about 700 bytes an entry, 140 KB at most in the file. */
export const ASK_REMINDER_BODY_CHARS = 400;
/** Most characters of the asker's name kept (the peer's own choice; quoted when shown). */
const MAX_NAME_CHARS = 200;

/** What the reminder shows of an open question: who asked, its id, the start of its text. */
export type OpenAsk = { messageId: string; mesh: string; from: { name: string }; body: string; createdAt: number };
type Entry = OpenAsk & { reminded: boolean };

/** One saved question: [message id, asker's name, start of the text, sent at (ms), reminded]. */
type Saved = [string, string, string, number, boolean];

const valid = (e: unknown): e is Saved =>
  Array.isArray(e) &&
  e.length === 5 &&
  typeof e[0] === "string" && ID_RE.test(e[0]) &&
  typeof e[1] === "string" &&
  typeof e[2] === "string" &&
  typeof e[3] === "number" && Number.isFinite(e[3]) &&
  typeof e[4] === "boolean";

export class OpenAsks {
  private readonly byMessage = new Map<string, Entry>();

  /** `mesh`: the slug each question is shown with. `saved`: what the replay file held under
   *  "asks"; entries that are not well-formed are skipped (a hand edit costs only their reminder). */
  constructor(
    private readonly mesh: string,
    saved: unknown = [],
  ) {
    for (const e of Array.isArray(saved) ? saved : []) if (valid(e)) this.keep(e[0], { name: e[1] }, e[2], e[3], e[4]);
  }

  /** Records question `m` as open (once: showing it again changes nothing); true if the file must
   *  be written. */
  add(m: Pick<Delivered, "messageId" | "from" | "body" | "createdAt">): boolean {
    if (this.byMessage.has(m.messageId)) return false;
    this.keep(m.messageId, m.from, m.body, m.createdAt, false);
    return true;
  }

  /** Question `messageId` was answered: no longer open. True if it was. */
  answered(messageId: string): boolean {
    return this.byMessage.delete(messageId);
  }

  /** A reminder listed these questions: not listed again. True if any changed. */
  reminded(ids: Iterable<string>): boolean {
    let changed = false;
    for (const id of ids) {
      const e = this.byMessage.get(id);
      if (e && !e.reminded) changed = e.reminded = true;
    }
    return changed;
  }

  /** The open questions, oldest first; `unreminded`: only those no reminder listed yet. */
  list(unreminded = false): OpenAsk[] {
    return [...this.byMessage.values()].filter((e) => !unreminded || !e.reminded).map(({ reminded: _, ...a }) => a);
  }

  /** For the replay file: every open question, oldest first (at most MAX_OPEN_ASKS). */
  toJson(): Saved[] {
    return [...this.byMessage.values()].map((e) => [e.messageId, e.from.name, e.body, e.createdAt, e.reminded]);
  }

  private keep(messageId: string, from: { name: string }, body: string, createdAt: number, reminded: boolean): void {
    this.byMessage.set(messageId, { messageId, mesh: this.mesh, from: { name: from.name.slice(0, MAX_NAME_CHARS) }, body: body.slice(0, ASK_REMINDER_BODY_CHARS), createdAt, reminded });
    if (this.byMessage.size > MAX_OPEN_ASKS) this.byMessage.delete(this.byMessage.keys().next().value!);
  }
}
