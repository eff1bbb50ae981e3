// How `inbox`, `inbox --follow` and `topic history` print a message for a person: one header line
// (time, sender, where, flags, and the mesh when the user is in several) with the body's first
// line after it, and every further line of the body marked, so that nothing a sender writes can
// pass for a line of ours: a header of another message, a broker notice, an "answer with" line.
// (--json prints the message exactly as it came; src/mcp/framing.ts quotes bodies for a model.)
import type { Delivered } from "../client/mesh-session.ts";
import { senderDoubt } from "../client/sender-doubt.ts";
import { senderLabel } from "./mesh-io.ts";

/** What starts every line of a body after its first: indented, as the "answer with" line is, and
 *  marked as quoted text, so that it can be neither a header (which starts with a time or `#n`)
 *  nor that line. */
export const CONTINUED = "  > ";

/** Whatever a terminal, a pager or an editor may show as the start of a new line: CR LF, LF, CR,
 *  vertical tab, form feed, NEL and the Unicode line and paragraph separators. (terminalSafe would
 *  remove most of them, joining the lines; they are kept as the line breaks their sender meant.) */
const LINE_BREAK = /\r\n|[\n\r\v\f\u0085\u2028\u2029]/;

/** `text` with every line after its first starting with CONTINUED. */
export const continued = (text: string): string => text.split(LINE_BREAK).join(`\n${CONTINUED}`);

const pad = (n: number) => String(n).padStart(2, "0");
/** YYYY-MM-DD and HH:MM:SS in the machine's time zone (TZ), as `ls -l` and `date` show times. */
const localParts = (d: Date) => [`${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`, `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`] as const;

/** One message: its local time, with the date in front when it is not from today, then who sent
 *  it where (` in <mesh>` when `mesh` is given: the caller gives it when the user is in several
 *  meshes, meshInLines), then its body, every line after the first marked (CONTINUED). A question
 *  is marked `[question]`, with a last line naming the command that answers it (replyHint).
 *  `nowMs` is for tests. (--json gives createdAt in ms since the epoch, and `ask`.) */
export function formatMessage(m: Delivered, { nowMs = Date.now(), mesh }: { nowMs?: number; mesh?: string | undefined } = {}): string {
  const [date, clock] = localParts(new Date(m.createdAt));
  const time = date === localParts(new Date(nowMs))[0] ? clock : `${date} ${clock}`;
  const where = m.topic ? ` #${m.topic}` : m.kind === "broadcast" ? " (everyone)" : m.to.startsWith("@") ? ` ${m.to}` : "";
  const prio = m.priority === "next" ? "" : ` [${m.priority}]`;
  // The key prefix proves who wrote it (the envelope's signature or box); the name is the
  // sender's choice and not unique (peerLabel). Broker notices come from no peer.
  const who = m.kind === "system" ? m.from.name : senderLabel(m.from);
  const doubt = senderDoubt(m);
  const head = `${time} ${who}${where}${mesh ? ` in ${mesh}` : ""}${prio}${m.ask ? " [question]" : ""}${doubt ? ` (${doubt})` : ""}`;
  // Marked whole: a line break in the header too (a topic or group a modified broker made up) is no new line.
  const line = continued(`${head}: ${m.kind === "system" ? noticeText(m.body) : m.body}`);
  return m.ask ? `${line}\n${replyHint(m.messageId)}` : line;
}

/** The line under a question (its sender, often a Claude Code session in mesh_ask, waits for the
 *  answer): the command that answers it, by its id. An id that starts with "-" goes after "--". */
export const replyHint = (messageId: string): string => `  answer with: claudemesh reply ${messageId.startsWith("-") ? "-- " : ""}${messageId} <your answer>`;

/** A broker notice (docs/protocol.md §5.8) in words: its body is the notice as JSON, which a person
 *  reading `inbox` should not have to decode. One it does not know is shown as it came (--json
 *  always gives it as it came). */
function noticeText(body: string): string {
  let notice: { event?: unknown; messageId?: unknown; to?: unknown };
  try {
    notice = JSON.parse(body) ?? {};
  } catch {
    return body;
  }
  const { event, messageId, to } = notice;
  if (event !== "message_expired" || typeof messageId !== "string" || typeof to !== "string") return body;
  const whom = /^[0-9a-f]{64}$/.test(to) ? `the key ${to.slice(0, 12)}` : to;
  return `your message ${messageId} to ${whom} expired before it was read (it waited as long as the broker keeps messages); send it again if it still matters.`;
}
